export * from './format.ts';
export * from './load.ts';
