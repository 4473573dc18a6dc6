/**
 * One handler per action of the format's table (`ACTIONS` in ../../format.ts). The type makes
 * the table and the handlers agree: an action without a handler does not compile.
 */
import type { ActionName, Step } from '../../format.ts';
import type { Outcome } from '../expect.ts';
import type { Scene } from '../scene.ts';
import { CONSOLE } from './console.ts';
import { FAULTS } from './faults.ts';
import type { Handler, Handlers } from './handler.ts';
import { KEY_ADMIN } from './key-admin.ts';
import { STORE } from './store.ts';
import { TENANTS } from './tenants.ts';
import { WORKFLOWS } from './workflows.ts';

const HANDLERS: Handlers<ActionName> = { ...CONSOLE, ...KEY_ADMIN, ...TENANTS, ...WORKFLOWS, ...FAULTS, ...STORE };

export function act(scene: Scene, step: Step): Promise<Outcome> {
  const handler = HANDLERS[step.action] as Handler<typeof step.action>;
  return handler(scene, step.args as never, step as never);
}
