import { describe, expect, it } from 'vitest';
import {
  AccountModel,
  checkEncryptionContext,
  consoleView,
  decide,
  initialAccount,
  keyNeeds,
  replay,
  workflowOutcome,
  WORKFLOWS,
  type AccountState,
  type Command,
} from './account.ts';
import { ARN, enableWith, freshAccount, run } from './arbitrary.ts';
import { KEY_CONDITIONS, REVOKED_CONDITIONS } from './key.ts';

const enabled = (arn: string = ARN.symmetric): AccountState => run(freshAccount(), enableWith(arn));

function outcomes(state: AccountState) {
  return Object.fromEntries(WORKFLOWS.map((w) => [w, workflowOutcome(state, w)]));
}

describe('activation', () => {
  it('[EKM-01] before support activates EKM the settings are hidden and every enabling step is refused', () => {
    const s = freshAccount();
    expect(consoleView(s).ekmSection).toBe(false);
    for (const c of [{ type: 'submitArn', input: ARN.symmetric }, { type: 'showTerms' }, { type: 'acceptTerms' }, { type: 'updateKey', input: ARN.second }] as Command[]) {
      const d = decide(s, c);
      expect(d.refusal?.code).toBe('NotActivated');
      expect(d.state).toBe(s);
      expect(d.events).toEqual([]);
    }
    const activated = decide(s, { type: 'activate' });
    expect(activated.state.phase).toBe('cloudKms');
    expect(consoleView(activated.state).ekmSection).toBe(true);
    expect(decide(activated.state, { type: 'activate' }).refusal?.code).toBe('AlreadyActivated');
  });

  it("[EKM-02] the EKM section shows the provider's 12-digit account id once activated", () => {
    expect(consoleView(freshAccount()).providerAccountId).toBeUndefined();
    const s = run(freshAccount(), [{ type: 'activate' }]);
    expect(consoleView(s).providerAccountId).toBe('111122223333');
    expect(() => initialAccount({ providerAccountId: '1234' })).toThrow(RangeError);
  });
});

describe('validation', () => {
  const activated = () => run(freshAccount(), [{ type: 'activate' }]);

  it('[EKM-03] a non-AWS or malformed key identifier is refused and changes nothing', () => {
    const s = activated();
    for (const [input, code] of [
      ['https://contoso.vault.azure.net/keys/k/1', 'UnsupportedKeyLocation'],
      ['projects/p/locations/l/keyRings/r/cryptoKeys/k', 'UnsupportedKeyLocation'],
      ['arn:aws:kms:eu-west-1:444455556666:alias/backup', 'AliasNotAccepted'],
      ['arn:aws:s3:::bucket', 'InvalidKeyArn'],
    ] as const) {
      const d = decide(s, { type: 'submitArn', input });
      expect(d.refusal?.code).toBe(code);
      expect(d.transition).toBe('cloudKms.submitArn.rejected');
      expect(d.state).toBe(s);
    }
  });

  it('[EKM-04] keys with imported material and multi-Region keys are accepted and work like any key', () => {
    const hsm = 'arn:aws:kms:eu-west-1:444455556666:key/88888888-8888-4888-8888-888888888888';
    const base = run(freshAccount(), [{ type: 'createKey', arn: hsm, shape: { origin: 'AWS_CLOUDHSM' } }]);
    for (const arn of [ARN.external, ARN.multiRegion, hsm]) {
      const s = run(base, enableWith(arn));
      expect(s.activeArn).toBe(arn);
      for (const o of Object.values(outcomes(s))) expect(o.ok).toBe(true);
    }
  });

  it('[EKM-05] asymmetric and HMAC keys are refused at validation', () => {
    const s = activated();
    expect(decide(s, { type: 'submitArn', input: ARN.rsa }).refusal?.code).toBe('UnsupportedKeySpec');
    expect(decide(s, { type: 'submitArn', input: ARN.hmac }).refusal?.code).toBe('UnsupportedKeySpec');
    // A disabled key is reported as disabled first, as DescribeKey findings are ordered.
    expect(decide(run(s, [{ type: 'disableKey', arn: ARN.rsa }]), { type: 'submitArn', input: ARN.rsa }).refusal?.code).toBe('KeyDisabled');
  });

  it('[EKM-06] validation confirms a usable key and otherwise gives the precise reason, changing nothing', () => {
    const s = activated();
    const ok = decide(s, { type: 'submitArn', input: ARN.symmetric });
    expect(ok.events).toEqual([{ type: 'arnValidated', arn: ARN.symmetric }]);
    expect(ok.state.phase).toBe('arnValidated');
    const cases: Array<[Command[], string]> = [
      [[], 'KeyNotFound'],
      [[{ type: 'disableKey', arn: ARN.unknown }], 'KeyNotFound'],
      [[{ type: 'createKey', arn: ARN.unknown }, { type: 'disableKey', arn: ARN.unknown }], 'KeyDisabled'],
      [[{ type: 'createKey', arn: ARN.unknown }, { type: 'scheduleDeletion', arn: ARN.unknown }], 'KeyPendingDeletion'],
      [[{ type: 'createKey', arn: ARN.unknown }, { type: 'denyAccess', arn: ARN.unknown }], 'KeyAccessDenied'],
      [[{ type: 'createKey', arn: ARN.unknown, shape: { origin: 'EXTERNAL' } }, { type: 'deleteMaterial', arn: ARN.unknown }], 'KeyMaterialUnavailable'],
      [[{ type: 'createKey', arn: ARN.unknown }, { type: 'kmsFault', arn: ARN.unknown, fault: 'unavailable' }], 'KmsUnavailable'],
      [[{ type: 'createKey', arn: ARN.unknown }, { type: 'scheduleDeletion', arn: ARN.unknown }, { type: 'deletionDue', arn: ARN.unknown }], 'KeyNotFound'],
    ];
    for (const [setup, code] of cases) {
      const before = run(s, setup);
      const d = decide(before, { type: 'submitArn', input: ARN.unknown });
      expect(d.refusal?.code, code).toBe(code);
      expect(d.state).toBe(before);
      expect(d.events).toEqual([{ type: 'arnRejected', failure: d.refusal }]);
    }
  });

  it('[EKM-06] a key outside the regions the provider uses is refused', () => {
    const s = initialAccount({ activated: true, regions: ['us-east-1'], keys: { [ARN.symmetric]: {} } });
    expect(decide(s, { type: 'submitArn', input: ARN.symmetric }).refusal?.code).toBe('KeyRegionMismatch');
  });
});

describe('enabling', () => {
  it('[EKM-07] enabling completes only with Yes, I Agree; declining or abandoning leaves Cloud Key Management', () => {
    const validated = run(freshAccount(), [{ type: 'activate' }, { type: 'submitArn', input: ARN.symmetric }]);
    expect(decide(validated, { type: 'acceptTerms' }).refusal?.code).toBe('TermsNotAccepted');
    const abandoned = decide(validated, { type: 'declineTerms' });
    expect(abandoned.state.phase).toBe('cloudKms');
    expect(abandoned.state.pendingArn).toBeUndefined();
    const shown = decide(validated, { type: 'showTerms' }).state;
    const declined = decide(shown, { type: 'declineTerms' });
    expect(declined.state).toEqual(run(freshAccount(), [{ type: 'activate' }]));
    expect(consoleView(declined.state).cloudKeyManagement).toBe('Enabled');
    expect(decide(shown, { type: 'acceptTerms' }).state.phase).toBe('ekmEnabled');
  });

  it('[EKM-07] a key revoked between validation and Yes, I Agree fails enabling and changes nothing', () => {
    const shown = run(freshAccount(), [{ type: 'activate' }, { type: 'submitArn', input: ARN.symmetric }, { type: 'showTerms' }, { type: 'disableKey', arn: ARN.symmetric }]);
    const d = decide(shown, { type: 'acceptTerms' });
    expect(d.refusal?.code).toBe('KeyDisabled');
    expect(d.state.phase).toBe('cloudKms');
    expect(d.state.activeArn).toBeUndefined();
  });

  it("[EKM-08] enabling disables Cloud Key Management and puts earlier backups under the customer's key", () => {
    const before = run(freshAccount(), [{ type: 'activate' }, { type: 'scheduledBackup' }, { type: 'manualBackup' }]);
    expect(before.snapshots.map((s) => s.protectedBy)).toEqual([['cloud'], ['cloud']]);
    const after = run(before, [{ type: 'submitArn', input: ARN.symmetric }, { type: 'showTerms' }, { type: 'acceptTerms' }]);
    expect(after.snapshots.map((s) => s.protectedBy)).toEqual([[ARN.symmetric], [ARN.symmetric]]);
    expect(consoleView(after).cloudKeyManagement).toBe('Disabled');
  });

  it('[EKM-09] no command returns an EKM account to Cloud Key Management', () => {
    const s = enabled();
    const d = decide(s, { type: 'returnToCloudKms' });
    expect(d.refusal).toMatchObject({ code: 'CannotReturnToCloudKms', kind: 'input' });
    expect(d.state).toBe(s);
    expect(decide(s, { type: 'submitArn', input: ARN.second }).refusal?.code).toBe('AlreadyEnabled');
  });

  it('[EKM-10] after enabling, the console shows the key ARN and status Enabled', () => {
    expect(consoleView(enabled())).toEqual({
      ekmSection: true,
      providerAccountId: '111122223333',
      keyArn: ARN.symmetric,
      externalKeyManagement: 'Enabled',
      cloudKeyManagement: 'Disabled',
      updateInProgress: false,
      unrecoverableSnapshots: [],
    });
  });
});

describe('workflows', () => {
  it("[EKM-11] every workflow uses the customer's key from the provider's account", () => {
    const s = enabled();
    for (const w of WORKFLOWS) {
      expect(keyNeeds(s, w)).toEqual([{ key: ARN.symmetric, operation: 'Decrypt' }]);
      const d = decide(s, { type: w });
      expect(d.events[0]).toEqual({ type: 'keyUsed', arn: ARN.symmetric, operation: 'Decrypt', context: { tenant: 'contoso', purpose: 'tenant-key' }, by: w });
    }
  });

  it.each(REVOKED_CONDITIONS)('[EKM-12] once the key is %s every workflow fails with a revocation and nothing is committed', (condition) => {
    const s = enabled(ARN.external);
    for (const w of WORKFLOWS) {
      const o = workflowOutcome(s, w, { conditions: () => condition });
      expect(o.ok).toBe(false);
      if (!o.ok) expect(o.failure.kind).toBe('revocation');
    }
  });

  it('[EKM-12] a failed backup adds no snapshot and leaves earlier snapshots readable once access returns', () => {
    const s = run(enabled(), [{ type: 'disableKey', arn: ARN.symmetric }]);
    const d = decide(s, { type: 'manualBackup' });
    expect(d.refusal?.code).toBe('KeyDisabled');
    expect(d.state).toBe(s);
    expect(d.transition).toBe('ekmEnabled.manualBackup.failed');
  });

  it('[EKM-13] giving access back makes every workflow succeed and earlier backups restore', () => {
    const revoked = run(enabled(ARN.external), [
      { type: 'manualBackup' },
      { type: 'denyAccess', arn: ARN.external },
      { type: 'scheduleDeletion', arn: ARN.external },
      { type: 'deleteMaterial', arn: ARN.external },
    ]);
    expect(workflowOutcome(revoked, 'restore').ok).toBe(false);
    const back = run(revoked, [
      { type: 'allowAccess', arn: ARN.external },
      { type: 'cancelDeletion', arn: ARN.external },
      { type: 'enableKey', arn: ARN.external },
      { type: 'reimportMaterial', arn: ARN.external },
    ]);
    for (const o of Object.values(outcomes(back))) expect(o.ok).toBe(true);
    for (const snap of back.snapshots) expect(workflowOutcome(back, 'restore', { snapshotId: snap.id }).ok).toBe(true);
  });

  it('[EKM-13] a cancelled deletion leaves the key Disabled, as in AWS KMS, until it is enabled', () => {
    const s = run(enabled(), [{ type: 'scheduleDeletion', arn: ARN.symmetric }, { type: 'cancelDeletion', arn: ARN.symmetric }]);
    expect(workflowOutcome(s, 'download')).toMatchObject({ ok: false, failure: { code: 'KeyDisabled' } });
    expect(workflowOutcome(run(s, [{ type: 'enableKey', arn: ARN.symmetric }]), 'download').ok).toBe(true);
  });

  it('[EKM-17] rotating the key needs no console change and every backup stays restorable', () => {
    const s = run(enabled(), [{ type: 'manualBackup' }]);
    const rotated = decide(s, { type: 'rotateKey', arn: ARN.symmetric });
    expect(rotated.refusal).toBeUndefined();
    expect(rotated.state.keys[ARN.symmetric]?.rotations).toBe(1);
    expect(consoleView(rotated.state)).toEqual(consoleView(s));
    for (const snap of rotated.state.snapshots) expect(workflowOutcome(rotated.state, 'restore', { snapshotId: snap.id }).ok).toBe(true);
  });

  it('[EKM-18] a destroyed key makes its data unrecoverable, reported as permanent and never transient', () => {
    const s = run(enabled(), [
      { type: 'scheduleDeletion', arn: ARN.symmetric },
      { type: 'deletionDue', arn: ARN.symmetric },
      { type: 'kmsFault', arn: ARN.symmetric, fault: 'unavailable' },
    ]);
    for (const w of ['restore', 'download'] as const) {
      expect(workflowOutcome(s, w)).toMatchObject({ ok: false, failure: { code: 'DataUnrecoverable', kind: 'permanent' } });
    }
    expect(workflowOutcome(s, 'scheduledBackup')).toMatchObject({ ok: false, failure: { code: 'KeyDeleted', kind: 'permanent' } });
    expect(decide(s, { type: 'enableKey', arn: ARN.symmetric }).refusal?.code).toBe('KeyDeleted');
  });

  it('[EKM-19] revocation bites at the very next workflow after a success', () => {
    const s = enabled();
    const { decisions } = replay(s, [{ type: 'restore' }, { type: 'denyAccess', arn: ARN.symmetric }, { type: 'restore' }]);
    expect(decisions.map((d) => d.refusal?.code)).toEqual([undefined, undefined, 'KeyAccessDenied']);
  });

  it('[EKM-20] every KMS call names the tenant and purpose, and another context is refused as tampering', () => {
    const { decisions } = replay(freshAccount(), [...enableWith(ARN.symmetric), { type: 'download' }, { type: 'updateKey', input: ARN.second }, { type: 'completeUpdate' }]);
    const used = decisions.flatMap((d) => d.events).filter((e) => e.type === 'keyUsed');
    expect(used.length).toBeGreaterThanOrEqual(4);
    for (const e of used) expect(e.context).toEqual({ tenant: 'contoso', purpose: 'tenant-key' });
    const ctx = { tenant: 'contoso', purpose: 'tenant-key' } as const;
    expect(checkEncryptionContext(ctx, { tenant: 'contoso', purpose: 'tenant-key' })).toBeUndefined();
    expect(checkEncryptionContext(ctx, { tenant: 'fabrikam', purpose: 'tenant-key' })?.code).toBe('DataTampered');
    expect(checkEncryptionContext(ctx, { tenant: 'contoso', purpose: 'tenant-key', extra: 'x' })?.code).toBe('DataTampered');
  });

  it('maps every key condition to exactly one outcome per workflow', () => {
    const s = enabled();
    for (const c of KEY_CONDITIONS) {
      for (const w of WORKFLOWS) {
        const o = workflowOutcome(s, w, { conditions: () => c });
        expect(o.ok).toBe(c === 'usable');
      }
    }
  });
});

describe('driving the model', () => {
  it('AccountModel answers what should happen now, applies commands and reports coverage', () => {
    const model = new AccountModel(freshAccount());
    expect(model.expect({ type: 'submitArn', input: ARN.symmetric }).refusal?.code).toBe('NotActivated');
    expect(model.state.phase).toBe('notActivated');
    for (const c of enableWith(ARN.symmetric)) model.apply(c);
    const backup = model.apply({ type: 'manualBackup', snapshotId: 'provider-snap-42' });
    expect(backup.events).toContainEqual({ type: 'backedUp', workflow: 'manualBackup', snapshotId: 'provider-snap-42', protectedBy: [ARN.symmetric] });
    expect(model.apply({ type: 'download', snapshotId: 'provider-snap-42' }).refusal).toBeUndefined();
    const cov = model.coverage();
    expect(cov.covered).toContain('termsShown.acceptTerms.enabled');
    expect(cov.covered.length + cov.missing.length).toBe(cov.total);
    expect(model.taken.get('ekmEnabled.download.ok')).toBe(1);
  });
});

describe('key update', () => {
  it('[EKM-14] the new ARN is validated like EKM-06 and replaces the old one on success', () => {
    const s = enabled();
    expect(decide(s, { type: 'updateKey', input: ARN.rsa }).refusal?.code).toBe('UnsupportedKeySpec');
    expect(decide(s, { type: 'updateKey', input: ARN.symmetric }).refusal?.code).toBe('SameKey');
    const started = decide(s, { type: 'updateKey', input: ARN.second });
    expect(started.state.phase).toBe('updating');
    expect(consoleView(started.state)).toMatchObject({ keyArn: ARN.symmetric, updateInProgress: true });
    const done = decide(started.state, { type: 'completeUpdate' });
    expect(done.state.activeArn).toBe(ARN.second);
    expect(consoleView(done.state).keyArn).toBe(ARN.second);
  });

  it('[EKM-15] deactivating the old key before completion fails the update, keeps the old ARN and loses no data', () => {
    const s = run(enabled(), [{ type: 'manualBackup' }, { type: 'updateKey', input: ARN.second }, { type: 'disableKey', arn: ARN.symmetric }]);
    const d = decide(s, { type: 'completeUpdate' });
    expect(d.refusal).toMatchObject({ code: 'UpdateNeedsOldKey', kind: 'revocation' });
    expect(d.state.activeArn).toBe(ARN.symmetric);
    expect(d.state.phase).toBe('ekmEnabled');
    const back = run(d.state, [{ type: 'enableKey', arn: ARN.symmetric }]);
    for (const snap of back.snapshots) expect(workflowOutcome(back, 'restore', { snapshotId: snap.id }).ok).toBe(true);
  });

  it('[EKM-15] an unusable new key fails the update with its own reason', () => {
    const s = run(enabled(), [{ type: 'updateKey', input: ARN.second }, { type: 'denyAccess', arn: ARN.second }]);
    const d = decide(s, { type: 'completeUpdate' });
    expect(d.refusal?.code).toBe('KeyAccessDenied');
    expect(d.state.activeArn).toBe(ARN.symmetric);
  });

  it('[EKM-16] after the update the old key can be deleted without any effect on workflows', () => {
    const s = run(enabled(), [{ type: 'manualBackup' }, { type: 'updateKey', input: ARN.second }, { type: 'completeUpdate' }]);
    const gone = run(s, [{ type: 'scheduleDeletion', arn: ARN.symmetric }, { type: 'deletionDue', arn: ARN.symmetric }]);
    expect(outcomes(gone)).toEqual(outcomes(s));
    for (const snap of gone.snapshots) expect(workflowOutcome(gone, 'restore', { snapshotId: snap.id }).ok).toBe(true);
  });
});

describe('a destroyed key loses its data, not the account', () => {
  const destroyed = () =>
    run(enabled(), [
      { type: 'manualBackup', snapshotId: 'before-1' },
      { type: 'manualBackup', snapshotId: 'before-2' },
      { type: 'scheduleDeletion', arn: ARN.symmetric },
      { type: 'deletionDue', arn: ARN.symmetric },
    ]);

  it('[EKM-21] after the deletion completes, an update to a usable key succeeds without the old key', () => {
    const s = destroyed();
    const started = decide(s, { type: 'updateKey', input: ARN.second });
    expect(started.refusal).toBeUndefined();
    const done = decide(started.state, { type: 'completeUpdate' });
    expect(done.refusal).toBeUndefined();
    expect(done.transition).toBe('updating.completeUpdate.completed');
    expect(done.state).toMatchObject({ phase: 'ekmEnabled', activeArn: ARN.second });
    expect(done.events).toContainEqual({ type: 'tenantKeyReplaced', lost: ARN.symmetric, to: ARN.second, unrecoverable: ['snap-1', 'before-1', 'before-2'] });
    expect(done.events.some((e) => e.type === 'tenantKeyRewrapped')).toBe(false);
  });

  it('[EKM-21] later backups use the new key; snapshots only the destroyed key protected stay unrecoverable and are listed', () => {
    const s = run(destroyed(), [{ type: 'updateKey', input: ARN.second }, { type: 'completeUpdate' }, { type: 'manualBackup', snapshotId: 'after-1' }]);
    expect(s.snapshots.find((x) => x.id === 'after-1')?.protectedBy).toEqual([ARN.second]);
    expect(workflowOutcome(s, 'restore', { snapshotId: 'after-1' }).ok).toBe(true);
    for (const id of ['before-1', 'before-2']) {
      for (const w of ['restore', 'download'] as const) {
        const o = workflowOutcome(s, w, { snapshotId: id });
        expect(o.ok === false && o.failure.code).toBe('DataUnrecoverable');
      }
    }
    expect(consoleView(s)).toMatchObject({ keyArn: ARN.second, externalKeyManagement: 'Enabled', unrecoverableSnapshots: ['snap-1', 'before-1', 'before-2'] });
  });

  it('[EKM-21] an unusable new key still fails the update after the old key was destroyed', () => {
    const s = run(destroyed(), [{ type: 'updateKey', input: ARN.second }, { type: 'disableKey', arn: ARN.second }]);
    const d = decide(s, { type: 'completeUpdate' });
    expect(d.refusal?.code).toBe('KeyDisabled');
    expect(d.state.activeArn).toBe(ARN.symmetric);
  });

  it.each([
    ['disabled', [{ type: 'disableKey', arn: ARN.symmetric }]],
    ['pending deletion', [{ type: 'scheduleDeletion', arn: ARN.symmetric }]],
    ['removed from the key policy', [{ type: 'denyAccess', arn: ARN.symmetric }]],
  ] as [string, Command[]][])('[EKM-21][EKM-15] a key only deactivated (%s) still refuses the update with UpdateNeedsOldKey', (_, deactivate) => {
    const s = run(enabled(), [{ type: 'manualBackup' }, ...deactivate, { type: 'updateKey', input: ARN.second }]);
    const d = decide(s, { type: 'completeUpdate' });
    expect(d.refusal?.code).toBe('UpdateNeedsOldKey');
    expect(d.state.activeArn).toBe(ARN.symmetric);
    expect(consoleView(d.state).unrecoverableSnapshots).toEqual([]);
  });
});
