export { cli, DEFAULT_OUT, DEFAULT_PATHS } from './cli.ts';
export type { Io } from './cli.ts';
