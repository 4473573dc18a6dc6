import { describe, expect, it } from 'vitest';
import { PHASES, refusedIn, type ConsoleCommand } from '../src/phases.ts';

const COMMANDS: readonly ConsoleCommand[] = [
  'activate',
  'submitArn',
  'showTerms',
  'acceptTerms',
  'declineTerms',
  'updateKey',
  'completeUpdate',
  'returnToCloudKms',
];

describe("the provider's own phase machine", () => {
  it('[EKM-01][EKM-07][EKM-09][EKM-15] accepts in each phase exactly what the article allows there', () => {
    const accepted = Object.fromEntries(PHASES.map((p) => [p, COMMANDS.filter((c) => refusedIn(p, c) === undefined)]));
    expect(accepted).toEqual({
      notActivated: ['activate'],
      cloudKms: ['submitArn'],
      arnValidated: ['submitArn', 'showTerms', 'declineTerms'],
      termsShown: ['showTerms', 'acceptTerms', 'declineTerms'],
      ekmEnabled: ['updateKey'],
      updating: ['completeUpdate'],
    });
  });

  it('[EKM-09] refuses the way back in every phase, saying why', () => {
    for (const p of PHASES) expect(refusedIn(p, 'returnToCloudKms')).toBe(p === 'ekmEnabled' || p === 'updating' ? 'CannotReturnToCloudKms' : 'NotEnabled');
  });

  it('names the reason of each refusal', () => {
    expect(refusedIn('notActivated', 'submitArn')).toBe('NotActivated');
    expect(refusedIn('cloudKms', 'activate')).toBe('AlreadyActivated');
    expect(refusedIn('cloudKms', 'acceptTerms')).toBe('NotValidated');
    expect(refusedIn('arnValidated', 'acceptTerms')).toBe('TermsNotAccepted');
    expect(refusedIn('termsShown', 'updateKey')).toBe('TermsNotAccepted');
    expect(refusedIn('cloudKms', 'updateKey')).toBe('NotEnabled');
    expect(refusedIn('ekmEnabled', 'submitArn')).toBe('AlreadyEnabled');
    expect(refusedIn('ekmEnabled', 'completeUpdate')).toBe('NoUpdateInProgress');
    expect(refusedIn('updating', 'updateKey')).toBe('UpdateInProgress');
  });
});
