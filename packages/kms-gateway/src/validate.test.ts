import { describe, expect, it } from 'vitest';
import { KmsError } from './errors.ts';
import { validateRequest } from './validate.ts';

function refusal(op: string, body: Record<string, unknown>): KmsError | undefined {
  try {
    validateRequest(op, body);
    return undefined;
  } catch (e) {
    return e as KmsError;
  }
}

describe('validateRequest', () => {
  it('[EKM-06] refuses missing required members and empty values with AWS validation texts', () => {
    expect(refusal('DescribeKey', {})).toMatchObject({
      code: 'ValidationException',
      message: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    });
    expect(refusal('Encrypt', {})?.message).toMatch(/^2 validation errors detected: .*'keyId'.*; .*'plaintext'/);
    expect(refusal('Encrypt', { KeyId: 'k', Plaintext: '' })?.message).toContain("at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1");
  });
  it('checks data key sizes, specs and the deletion window', () => {
    expect(refusal('GenerateDataKey', { KeyId: 'k' })?.message).toBe('Please specify either number of bytes or key spec.');
    expect(refusal('GenerateDataKey', { KeyId: 'k', KeySpec: 'AES_256', NumberOfBytes: 32 })?.code).toBe('ValidationException');
    expect(refusal('GenerateDataKey', { KeyId: 'k', NumberOfBytes: 0 })?.message).toContain('greater than or equal to 1');
    expect(refusal('GenerateDataKey', { KeyId: 'k', NumberOfBytes: 1025 })?.message).toContain('less than or equal to 1024');
    expect(refusal('GenerateDataKey', { KeyId: 'k', KeySpec: 'AES_512' })?.message).toContain('[AES_256, AES_128]');
    expect(refusal('ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: 6 })?.message).toContain("Value '6' at 'pendingWindowInDays'");
    expect(refusal('ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: 31 })?.message).toContain('less than or equal to 30');
    expect(refusal('GenerateDataKey', { KeyId: 'k', KeySpec: 'AES_256' })).toBeUndefined();
    expect(refusal('ScheduleKeyDeletion', { KeyId: 'k' })).toBeUndefined();
  });
});
