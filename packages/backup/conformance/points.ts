/**
 * The reference provider's pause points (`workflow.pause`) and crash points (`provider.crash`):
 * its backup and key-update hooks, named by the protocol's `PAUSE_POINTS`. Held work waits on a
 * promise the harness releases; a crash leaves the work waiting for ever, as a dead process
 * would, and rejects every call in flight so the harness hears of it. Misuse (arming twice,
 * resuming what is not held, a point never reached) throws: a binding error, not a rule's failure.
 */
import type { Outcome, PausePoint } from '@ekm/protocol';
import type { ProviderOptions } from '../src/provider.ts';

/** What a crash looks like to the caller of the call in flight. */
class ProviderCrashed extends Error {
  override readonly name = 'ProviderCrashed';
  readonly $fault = 'server';
}

type Armed = 'pause' | 'crash';

export class Points {
  readonly #armed = new Map<PausePoint, Armed>();
  readonly #held = new Map<PausePoint, () => void>();
  readonly #waiting = new Map<PausePoint, (() => void)[]>();
  #dead: { promise: Promise<never>; reject: (e: Error) => void } | undefined;
  #crashed = false;

  arm(point: PausePoint, kind: Armed): Outcome {
    if (this.#armed.has(point)) throw new Error(`${point} is armed already`);
    this.#armed.set(point, kind);
    return { ok: true, message: `${kind} armed at ${point}` };
  }

  /** Waits until work is held at `point`, at most `timeoutMs`. */
  async paused(point: PausePoint, timeoutMs: number): Promise<Outcome> {
    if (this.#held.has(point)) return { ok: true };
    let timer: NodeJS.Timeout | undefined;
    const reached = await new Promise<boolean>((resolve) => {
      const list = this.#waiting.get(point) ?? [];
      list.push(() => resolve(true));
      this.#waiting.set(point, list);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    if (!reached) throw new Error(`no work reached ${point} within ${timeoutMs} ms`);
    return { ok: true };
  }

  resume(point: PausePoint): Outcome {
    const release = this.#held.get(point);
    if (release === undefined) throw new Error(`no work is held at ${point}`);
    this.#held.delete(point);
    release();
    return { ok: true };
  }

  /** Called by the provider's hooks: holds, kills or lets the work go on. */
  async reach(point: PausePoint): Promise<void> {
    const armed = this.#armed.get(point);
    if (armed === undefined) return;
    this.#armed.delete(point);
    if (armed === 'pause') {
      await new Promise<void>((release) => {
        this.#held.set(point, release);
        for (const w of this.#waiting.get(point) ?? []) w();
        this.#waiting.delete(point);
      });
      return;
    }
    this.#crashed = true;
    this.#dead?.reject(new ProviderCrashed(`the provider crashed at ${point}`));
    // Nothing after the crash point runs: the work waits for ever, like a dead process's.
    await new Promise<never>(() => undefined);
  }

  /** Runs a call of the session; it rejects if the provider crashes while it is in flight, or has crashed. */
  guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.#crashed) return Promise.reject(new ProviderCrashed('the provider has crashed and not restarted'));
    if (this.#dead === undefined) {
      let reject!: (e: Error) => void;
      const promise = new Promise<never>((_, r) => {
        reject = r;
      });
      promise.catch(() => undefined);
      this.#dead = { promise, reject };
    }
    return Promise.race([work(), this.#dead.promise]);
  }

  /** A fresh process: nothing armed, nothing held, nothing dead. */
  restarted(): void {
    this.#crashed = false;
    this.#dead = undefined;
    this.#armed.clear();
    this.#held.clear();
  }

  /** The provider's hooks, after any the caller gave. */
  hooks(given: Partial<Pick<ProviderOptions, 'hooks' | 'updateHooks'>>): Pick<ProviderOptions, 'hooks' | 'updateHooks'> {
    const h = given.hooks ?? {};
    const u = given.updateHooks ?? {};
    return {
      hooks: {
        beforeData: async (s) => {
          await h.beforeData?.(s);
          await this.reach('backup.keyUnwrapped');
        },
        afterDataWritten: async (s) => {
          await h.afterDataWritten?.(s);
          await this.reach('backup.dataWritten');
        },
        ...(h.beforeCommit === undefined ? {} : { beforeCommit: h.beforeCommit }),
        afterCommit: async (m) => {
          await h.afterCommit?.(m);
          await this.reach('backup.committed');
        },
      },
      updateHooks: {
        beforeRewrap: async (p) => {
          await u.beforeRewrap?.(p);
          await this.reach('update.beforeRewrap');
        },
        afterRewrap: async (p) => {
          await u.afterRewrap?.(p);
          await this.reach('update.rewrapped');
        },
        afterCommit: async (p) => {
          await u.afterCommit?.(p);
          await this.reach('update.committed');
        },
      },
    };
  }
}
