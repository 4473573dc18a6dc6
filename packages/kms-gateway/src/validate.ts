import { KmsError } from './errors.ts';
import { factsOf } from './operations.ts';

/**
 * Input checks AWS makes before it looks at a key, for the inputs LocalStack lets
 * through (or answers with HTTP 500). Messages follow AWS's `1 validation error
 * detected: ...` form.
 */
const DATA_KEY_SPECS = ['AES_256', 'AES_128'];

export function validateRequest(op: string, body: Record<string, unknown>): void {
  const problems: string[] = [];
  for (const field of factsOf(op).required ?? []) {
    if (body[field] === undefined || body[field] === null) problems.push(`Value null at '${member(field)}' failed to satisfy constraint: Member must not be null`);
  }
  for (const field of ['Plaintext', 'CiphertextBlob', 'KeyId']) {
    if (body[field] === '') problems.push(`Value at '${member(field)}' failed to satisfy constraint: Member must have length greater than or equal to 1`);
  }
  const bytes = body['NumberOfBytes'];
  if (typeof bytes === 'number' && (bytes < 1 || bytes > 1024)) {
    problems.push(`Value '${bytes}' at 'numberOfBytes' failed to satisfy constraint: Member must have value ${bytes < 1 ? 'greater than or equal to 1' : 'less than or equal to 1024'}`);
  }
  if ((op === 'GenerateDataKey' || op === 'GenerateDataKeyWithoutPlaintext') && body['KeySpec'] !== undefined && !DATA_KEY_SPECS.includes(String(body['KeySpec']))) {
    problems.push(`Value '${String(body['KeySpec'])}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [${DATA_KEY_SPECS.join(', ')}]`);
  }
  const window = body['PendingWindowInDays'];
  if (op === 'ScheduleKeyDeletion' && typeof window === 'number' && (window < 7 || window > 30)) {
    problems.push(`Value '${window}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value ${window < 7 ? 'greater than or equal to 7' : 'less than or equal to 30'}`);
  }
  const limit = body['Limit'];
  if (op === 'ListKeyRotations' && limit !== undefined && (typeof limit !== 'number' || limit < 1 || limit > 1000)) {
    problems.push(`Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value ${Number(limit) < 1 ? 'greater than or equal to 1' : 'less than or equal to 1000'}`);
  }
  if (problems.length > 0) {
    const n = problems.length;
    throw new KmsError('ValidationException', `${n} validation error${n > 1 ? 's' : ''} detected: ${problems.join('; ')}`);
  }
  if ((op === 'GenerateDataKey' || op === 'GenerateDataKeyWithoutPlaintext') && (body['KeySpec'] === undefined) === (body['NumberOfBytes'] === undefined)) {
    throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
  }
}

function member(field: string): string {
  return field[0]!.toLowerCase() + field.slice(1);
}
