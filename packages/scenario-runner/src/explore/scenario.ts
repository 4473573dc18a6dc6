/** A planned sequence as a scenario file: what runs during exploration is exactly what a regression file says. */
import { API_VERSION, KIND } from '../format.ts';
import { loadText, formatError, type LoadedScenario } from '../load.ts';
import { TENANTS, type PlannedStep } from './commands.ts';

const PLAIN = /^[A-Za-z][A-Za-z0-9_-]*$|^\d+[a-z]+$/;
const YAML_WORDS = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

/** A value in YAML flow style: plain words unquoted, anything else quoted. */
function flow(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return PLAIN.test(v) && !YAML_WORDS.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{ ${entries.map(([k, x]) => `${k}: ${flow(x)}`).join(', ')} }`;
}

export interface ScenarioText {
  readonly id: string;
  readonly title: string;
  readonly rules: readonly string[];
  readonly comment?: readonly string[];
  readonly steps: readonly PlannedStep[];
}

export function scenarioText(s: ScenarioText): string {
  const lines = [
    ...(s.comment ?? []).map((c) => (c === '' ? '#' : `# ${c}`)),
    `apiVersion: ${API_VERSION}`,
    `kind: ${KIND}`,
    `id: ${s.id}`,
    `title: ${JSON.stringify(s.title)}`,
    `rules: ${flow([...s.rules])}`,
    'tags: [explorer]',
    `tenants: { ${TENANTS.map((t) => `${t}: {}`).join(', ')} }`,
    'steps:',
  ];
  const write = (step: PlannedStep, indent: string): void => {
    const args = flow(step.args);
    lines.push(`${indent}- ${step.action}:${args === '' ? '' : ` ${args}`}`);
    if (step.during !== undefined) {
      lines.push(`${indent}  during:`, `${indent}    at: ${step.during.at}`, `${indent}    steps:`);
      for (const inner of step.during.steps) write(inner, `${indent}      `);
    }
    if (step.expect !== undefined) lines.push(`${indent}  expect: ${flow(step.expect)}`);
  };
  for (const step of s.steps) write(step, '  ');
  return `${lines.join('\n')}\n`;
}

/** Loads generated text; a generated scenario that does not load is the explorer's own bug. */
export function loadGenerated(text: string, file: string): LoadedScenario {
  const result = loadText(text, file);
  if (result.errors.length > 0 || result.scenarios.length !== 1) {
    throw new Error(`the explorer generated an invalid scenario:\n${result.errors.map(formatError).join('\n')}\n${text}`);
  }
  return result.scenarios[0]!;
}
