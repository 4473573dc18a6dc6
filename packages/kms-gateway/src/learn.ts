import { DAY_MS } from './clock.ts';
import type { Grant } from './grants.ts';
import type { KeyMetadata } from './keys.ts';
import { factsOf } from './operations.ts';
import type { GatewayState, KeyUse } from './state.ts';

/** Learns from a successful answer and overlays what the gateway keeps (deletion dates, ValidTo). */
export function afterSuccess(s: GatewayState, op: string, body: Record<string, unknown>, uses: KeyUse[], answer: Record<string, unknown>): Record<string, unknown> {
  const { keys, grants } = s;
  const arn = uses[0]?.ref.arn;
  for (const use of uses) if (!factsOf(op).readOnly) keys.forget(use.ref.arn, { policy: op === 'PutKeyPolicy' });
  keys.learn(answer['KeyId']);
  const now = s.timeOf(uses[0]?.ref.account);
  switch (op) {
    case 'CreateKey':
      keys.remember(answer['KeyMetadata'] as KeyMetadata);
      return answer;
    case 'ScheduleKeyDeletion': {
      const windowDays = typeof body['PendingWindowInDays'] === 'number' ? body['PendingWindowInDays'] : 30;
      const date = new Date(now.getTime() + windowDays * DAY_MS);
      keys.scheduleDeletion(arn!, date, windowDays);
      return { ...answer, KeyId: arn, DeletionDate: date.getTime() / 1000, PendingWindowInDays: windowDays };
    }
    case 'CancelKeyDeletion':
      keys.cancelDeletion(arn!);
      return answer;
    case 'ImportKeyMaterial': {
      const expires = body['ExpirationModel'] !== 'KEY_MATERIAL_DOES_NOT_EXPIRE' && typeof body['ValidTo'] === 'number';
      keys.setValidTo(arn!, expires ? new Date((body['ValidTo'] as number) * 1000) : undefined);
      return answer;
    }
    case 'DeleteImportedKeyMaterial':
      keys.setValidTo(arn!, undefined);
      return answer;
    case 'DescribeKey': {
      const meta = { ...(answer['KeyMetadata'] as KeyMetadata) };
      const deletion = keys.deletionOf(meta.Arn);
      if (deletion) {
        meta['DeletionDate'] = deletion.date.getTime() / 1000;
        meta['PendingDeletionWindowInDays'] = deletion.windowDays;
      }
      const validTo = keys.validToOf(meta.Arn);
      if (validTo) {
        meta['ValidTo'] = validTo.getTime() / 1000;
        meta['ExpirationModel'] = 'KEY_MATERIAL_EXPIRES';
      }
      return { ...answer, KeyMetadata: meta };
    }
    case 'ListKeys': {
      const list = (answer['Keys'] as { KeyArn: string }[] | undefined) ?? [];
      return { ...answer, Keys: list.filter((k) => !keys.deletedArns.has(k.KeyArn)) };
    }
    case 'CreateGrant':
      grants.add({
        grantId: String(answer['GrantId']),
        grantToken: String(answer['GrantToken']),
        keyArn: arn!,
        granteePrincipal: String(body['GranteePrincipal']),
        retiringPrincipal: body['RetiringPrincipal'] as string | undefined,
        operations: (body['Operations'] as string[] | undefined) ?? [],
        constraints: body['Constraints'] as Grant['constraints'],
        name: body['Name'] as string | undefined,
      });
      return answer;
    case 'RevokeGrant':
      grants.remove({ grantId: String(body['GrantId']) });
      return answer;
    case 'RetireGrant':
      grants.remove(body['GrantToken'] !== undefined ? { grantToken: String(body['GrantToken']) } : { grantId: String(body['GrantId']) });
      return answer;
    default:
      return answer;
  }
}

