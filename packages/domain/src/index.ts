export * from './failures.ts';
export * from './rules.ts';
