/**
 * INTERIM. The world (LocalStack + gateway + MSW tenant + provider) and the step
 * executors are not built yet; until they are, `ekm run` uses this executor, which
 * runs nothing and reports every step as an error so that no run can pass by accident.
 * It is replaced by the real executor, not kept beside it.
 */
import type { Executor } from './schedule.ts';

export const UNWIRED_MESSAGE = 'world not wired yet';

export const unwiredExecutor: Executor = async (loaded) => {
  const { scenario } = loaded;
  return {
    id: scenario.id,
    title: scenario.title,
    file: loaded.file,
    status: 'failed',
    rules: scenario.rules,
    durationMs: 0,
    steps: scenario.steps.map((step, i) => {
      const line = loaded.stepLines[i];
      return { title: step.title, status: 'error' as const, kmsCalls: [], error: UNWIRED_MESSAGE, ...(line === undefined ? {} : { line }) };
    }),
  };
};
