import type { ActionArgs, ActionName, Step } from '../../format.ts';
import type { Outcome } from '../expect.ts';
import type { Scene } from '../scene.ts';

/** Carries out one action of the format's table on the scene; returns its outcome in the harness's terms. */
export type Handler<A extends ActionName> = (scene: Scene, args: ActionArgs<A>, step: Extract<Step, { action: A }>) => Promise<Outcome>;

/** Handlers for a group of actions: a missing or misspelt action is a type error. */
export type Handlers<N extends ActionName> = { readonly [A in N]: Handler<A> };
