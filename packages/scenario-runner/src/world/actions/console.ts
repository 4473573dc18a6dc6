/** Support and the console: what the customer's backup administrator and support do, observed by the model. */
import type { ActionName } from '../../format.ts';
import { CRASHED } from '../scene.ts';
import type { Handlers } from './handler.ts';

type ConsoleAction = 'support.activate' | Extract<ActionName, `console.${string}`>;

export const CONSOLE: Handlers<ConsoleAction> = {
  'support.activate': async (s) => s.command({ type: 'activate' }, await s.call(() => s.provider.activate(s.account))),
  'console.submitKey': async (s, args) => {
    const input = s.arn(args);
    return s.command({ type: 'submitArn', input }, await s.call(() => s.provider.submitKey(s.account, input)));
  },
  'console.showTerms': async (s) => s.command({ type: 'showTerms' }, await s.call(() => s.provider.showTerms(s.account))),
  'console.acceptTerms': async (s, args) => {
    // The console shows the terms (Continue) before the customer can agree (Yes, I Agree).
    if (args.showTerms && s.model.phase === 'arnValidated') {
      const shown = s.command({ type: 'showTerms' }, await s.call(() => s.provider.showTerms(s.account)));
      if (!shown.ok) return shown;
    }
    return s.command({ type: 'acceptTerms' }, await s.call(() => s.provider.acceptTerms(s.account)));
  },
  'console.declineTerms': async (s) => s.command({ type: 'declineTerms' }, await s.call(() => s.provider.declineTerms(s.account))),
  'console.abandon': async (s) => s.command({ type: 'declineTerms' }, await s.call(() => s.provider.abandon(s.account))),
  'console.enable': async (s, args) => {
    const input = s.arn(args);
    const submitted = s.command({ type: 'submitArn', input }, await s.call(() => s.provider.submitKey(s.account, input)));
    if (!submitted.ok) return submitted;
    const shown = s.command({ type: 'showTerms' }, await s.call(() => s.provider.showTerms(s.account)));
    if (!shown.ok) return shown;
    return s.command({ type: 'acceptTerms' }, await s.call(() => s.provider.acceptTerms(s.account)));
  },
  'console.updateKey': async (s, args) => {
    const input = s.arn(args);
    const started = await s.call(() => s.provider.updateKey(s.account, input, { complete: args.complete }));
    const outcome = s.command({ type: 'updateKey', input }, started);
    if (started === CRASHED) return outcome;
    // A completed update is the model's two moves: validated, then the rewrap.
    s.mirror(() => {
      if (started.ok && args.complete) s.model.observe({ type: 'completeUpdate' }, true);
      if (!started.ok && args.complete && s.model.phase === 'updating') s.model.observe({ type: 'completeUpdate' }, false);
    });
    return outcome;
  },
  'console.completeUpdate': async (s) => s.command({ type: 'completeUpdate' }, await s.call(() => s.provider.completeUpdate(s.account))),
  'console.status': async (s) => {
    await s.provider.view(s.account);
    return { ok: true };
  },
  'console.returnToCloudKms': async (s) => s.command({ type: 'returnToCloudKms' }, await s.call(() => s.provider.returnToCloudKms(s.account))),
};
