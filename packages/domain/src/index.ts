export * from './failures.ts';
export * from './rules.ts';
export * from './arn.ts';
export * from './key.ts';
export * from './account.ts';
