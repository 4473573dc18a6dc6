export * from './format.ts';
export * from './load.ts';
export * from './results.ts';
export * from './report.ts';
export * from './schedule.ts';
export * from './suite.ts';
export * from './catalogue.ts';
export * from './world.ts';
