import type { FailureCode } from '@ekm/domain';

/**
 * The provider's own phase machine of an account's key management, written from the article
 * (not taken from the domain model, which the conformance suite compares it with). Cloud Key
 * Management protects the data in the first four phases, the customer's key in the last two.
 */
export const PHASES = ['notActivated', 'cloudKms', 'arnValidated', 'termsShown', 'ekmEnabled', 'updating'] as const;
export type Phase = (typeof PHASES)[number];

export type ConsoleCommand = 'activate' | 'submitArn' | 'showTerms' | 'acceptTerms' | 'declineTerms' | 'updateKey' | 'completeUpdate' | 'returnToCloudKms';

/** EKM in force: nothing leads back from these phases to Cloud Key Management (EKM-09). */
export function ekmInForce(phase: Phase): boolean {
  return phase === 'ekmEnabled' || phase === 'updating';
}

/**
 * What the console accepts in each phase, and for everything else the reason it refuses.
 * `*` is every command the phase lists no reason for. No phase accepts returnToCloudKms.
 */
const CONSOLE: Readonly<Record<Phase, { readonly accepts: readonly ConsoleCommand[]; readonly refuses: Partial<Record<ConsoleCommand | '*', FailureCode>> }>> =
  {
    // Controlled availability: support activates EKM first (EKM-01).
    notActivated: { accepts: ['activate'], refuses: { returnToCloudKms: 'NotEnabled', '*': 'NotActivated' } },
    cloudKms: {
      accepts: ['submitArn'],
      refuses: { updateKey: 'NotEnabled', completeUpdate: 'NotEnabled', returnToCloudKms: 'NotEnabled', '*': 'NotValidated' },
    },
    // A validated ARN waits for the terms (EKM-07): shown, accepted, or declined.
    arnValidated: {
      accepts: ['submitArn', 'showTerms', 'declineTerms'],
      refuses: { completeUpdate: 'NotEnabled', returnToCloudKms: 'NotEnabled', '*': 'TermsNotAccepted' },
    },
    termsShown: {
      accepts: ['showTerms', 'acceptTerms', 'declineTerms'],
      refuses: { completeUpdate: 'NotEnabled', returnToCloudKms: 'NotEnabled', '*': 'TermsNotAccepted' },
    },
    ekmEnabled: {
      accepts: ['updateKey'],
      refuses: { completeUpdate: 'NoUpdateInProgress', returnToCloudKms: 'CannotReturnToCloudKms', '*': 'AlreadyEnabled' },
    },
    // Both keys are needed until the update completes (EKM-15): nothing else starts meanwhile.
    updating: { accepts: ['completeUpdate'], refuses: { returnToCloudKms: 'CannotReturnToCloudKms', '*': 'UpdateInProgress' } },
  };

/** Why `command` is refused in `phase`, or undefined when the console accepts it there. */
export function refusedIn(phase: Phase, command: ConsoleCommand): FailureCode | undefined {
  const p = CONSOLE[phase];
  if (p.accepts.includes(command)) return undefined;
  if (command === 'activate') return 'AlreadyActivated';
  return p.refuses[command] ?? p.refuses['*'];
}

/** The id of the transition taken, e.g. `termsShown.acceptTerms.enabled` (the domain's naming, so reports line up). */
export function transitionId(phase: Phase, command: string, outcome?: string): string {
  return outcome === undefined ? `${phase}.${command}` : `${phase}.${command}.${outcome}`;
}
