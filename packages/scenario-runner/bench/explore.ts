/**
 * Explorer sequences per minute: a fixed-seed exploration on an already running LocalStack,
 * counterexamples (if any) written to a temporary folder that is removed afterwards.
 *   tsx bench/explore.ts --endpoint http://127.0.0.1:4566 [--runs 15] [--seed 20261128]
 * Prints one JSON line. Run by packages/backup/bench/perf.ts (`pnpm bench` at the root).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { explore } from '../src/explore/index.ts';
import { openWorld } from '../src/world.ts';
import { referenceProvider } from '@ekm/backup/conformance';

const { values } = parseArgs({
  options: { endpoint: { type: 'string' }, runs: { type: 'string', default: '15' }, seed: { type: 'string', default: '20261128' } },
});
if (values.endpoint === undefined) throw new Error('--endpoint <LocalStack url> is required');
const out = mkdtempSync(join(tmpdir(), 'ekm-bench-explore-'));
const world = await openWorld({ localstack: 'external', endpoint: values.endpoint, provider: referenceProvider() });
try {
  const report = await explore({ world, runs: Number(values.runs), seed: Number(values.seed), out });
  process.stdout.write(
    `${JSON.stringify({
      sequencesPerMinute: Math.round(report.sequencesPerMinute * 10) / 10,
      sequences: report.sequences,
      runs: Number(values.runs),
      seed: report.seed,
      maxCommands: report.maxCommands,
      longest: report.longest,
      durationMs: Math.round(report.durationMs),
      status: report.status,
      ...(report.counterexample === undefined ? {} : { counterexample: { rule: report.counterexample.rule, commands: report.counterexample.commands } }),
    })}\n`,
  );
} finally {
  await world.close();
  rmSync(out, { recursive: true, force: true });
}
