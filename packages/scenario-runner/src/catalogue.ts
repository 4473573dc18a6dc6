/** The rule catalogue and the state machine's transitions, as the runner and reports use them. */
import { RULES, transitionCoverage } from '@ekm/domain';
import type { CatalogueRule } from './results.ts';

export function ruleCatalogue(): CatalogueRule[] {
  return RULES.map(({ id, title, kind, quote }) => ({ id, title, kind, quote }));
}

/** Every transition id of the EKM account and key state machines, for `transitions.total`. */
export function transitionIds(): string[] {
  return [...transitionCoverage([]).missing];
}
