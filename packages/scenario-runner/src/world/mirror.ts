/**
 * The harness's own oracle of the account: the domain model (the specification) run beside
 * the provider under test, fed by the steps a scenario takes and the outcomes it observed.
 * Transition coverage comes from here, never from the provider: a provider could report any
 * transition it likes, or none (a provider over HTTP reports none).
 *
 * Where the observed outcome differs from the model's (a KMS fault the model does not know,
 * or a non-conforming provider), the transition recorded is the observed one from the same
 * phase, and the state follows what happened: a failed step changes nothing, as the rules say.
 */
import { decide, transitionById, type AccountCommand, type AccountState } from '@ekm/domain';

/** Moves that end differently when they fail, with the suffix of each ending. */
const ENDINGS: Record<string, { readonly ok: string; readonly failed: string }> = {
  submitArn: { ok: '.validated', failed: '.rejected' },
  updateKey: { ok: '.validated', failed: '.rejected' },
  acceptTerms: { ok: '.enabled', failed: '.failed' },
  completeUpdate: { ok: '.completed', failed: '.failed' },
  scheduledBackup: { ok: '.ok', failed: '.failed' },
  manualBackup: { ok: '.ok', failed: '.failed' },
  restore: { ok: '.ok', failed: '.failed' },
  download: { ok: '.ok', failed: '.failed' },
};

export class AccountMirror {
  readonly #transitions: string[];
  readonly #get: () => AccountState;
  readonly #set: (s: AccountState) => void;

  /** Shares its state with the key mirror: key commands and account commands are one model. */
  constructor(transitions: string[], get: () => AccountState, set: (s: AccountState) => void) {
    this.#transitions = transitions;
    this.#get = get;
    this.#set = set;
  }

  get phase(): AccountState['phase'] {
    return this.#get().phase;
  }

  /** Applies a command whose outcome was observed (`ok`); returns the transition recorded. */
  observe(command: AccountCommand, ok: boolean): string {
    const state = this.#get();
    const d = decide(state, command);
    const modelOk = d.refusal === undefined;
    if (modelOk === ok) {
      this.#set(d.state);
      this.#transitions.push(d.transition);
      return d.transition;
    }
    const ending = ENDINGS[command.type];
    const id = ending === undefined ? undefined : `${state.phase}.${command.type}${ok ? ending.ok : ending.failed}`;
    const observed = id !== undefined && transitionById(id) !== undefined ? id : d.transition;
    this.#transitions.push(observed);
    // A failed step commits nothing; a step that succeeded against the model's word is a
    // disagreement the scenario's expectations report, and the model stays where it was.
    if (ok && transitionById(observed)?.to !== undefined && observed !== d.transition) this.#set({ ...state, phase: transitionById(observed)!.to });
    return observed;
  }
}
