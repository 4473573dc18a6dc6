import type { ViteUserConfig } from 'vitest/config';

export declare function testProjects(configUrl: string, options?: { int?: boolean; intTimeout?: number }): ViteUserConfig;
