import { defineConfig } from 'vitest/config';
import { testProjects } from '@ekm/test-config';

export default defineConfig(testProjects(import.meta.url, { int: false }));
