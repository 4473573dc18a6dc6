export type LocalStackMode = 'external' | 'docker' | 'host';

/** Why LocalStack could not be had, for a person: which mode, what failed, the log tail and the fix. */
export class LocalStackStartError extends Error {
  override readonly name = 'LocalStackStartError';
  constructor(
    readonly mode: LocalStackMode | 'auto',
    readonly stage: 'python' | 'venv' | 'port' | 'spawn' | 'health' | 'container' | 'endpoint' | 'mode',
    readonly problem: string,
    readonly fix: string,
    readonly logTail = '',
  ) {
    super(
      `LocalStack (${mode} mode) failed at ${stage}: ${problem}\nFix: ${fix}` +
        (logTail ? `\n--- last lines of its output ---\n${logTail}` : ''),
    );
  }
}
