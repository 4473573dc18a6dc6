import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AuditTrail, recordedParameters, type AuditEvent, type AuditQuery } from './audit.ts';
import { DAY_MS, ManualClock, type GatewayClock } from './clock.ts';
import { KmsError, messages, toKmsError } from './errors.ts';
import { GrantStore, type Grant } from './grants.ts';
import { KeyRegistry, keyRefOf, type KeyMetadata, type KeyRef } from './keys.ts';
import { evaluatePolicy, parsePolicy, PolicyParseError, type ContextValue } from './policy.ts';
import { Toxics, type Toxic, type ToxicSpec } from './toxics.ts';
import { parseAuthorization, Upstream } from './upstream.ts';
import { validateRequest } from './validate.ts';

export interface KmsGatewayOptions {
  /** LocalStack's edge endpoint, e.g. `http://127.0.0.1:4566`. */
  localstackEndpoint: string;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** The clock deletion windows and key-material expiry run on; starts at wall time unless given. */
  clock?: GatewayClock | Date | number;
  /** Seed of the toxics' randomness, so that faults replay. */
  seed?: number;
  /** Append every audit event to this file as a JSON line. */
  auditFile?: string;
  /** Region used when a request carries no SigV4 credential scope. */
  region?: string;
}

export interface GatewayStats {
  requests: number;
  forwarded: number;
  upstreamCalls: number;
  accessDenied: number;
  toxicFaults: number;
  byOperation: Record<string, number>;
  byErrorCode: Record<string, number>;
  toxics: { name: string; hits: number }[];
  auditEvents: number;
}

export interface KmsGatewayControl {
  /**
   * The gateway clock. With an account, `now` and `advance` act on that account's own
   * offset from the shared clock, so concurrent scenarios (each with its own accounts)
   * move time for their keys only: a key's deletion window and material expiry run on
   * its owner's time, an audit event carries its caller's time.
   */
  clock: {
    now(account?: string): Date;
    /** Moves time forward; imported material whose ValidTo passed is expired before it resolves. */
    advance(by: number | { days?: number; hours?: number; ms?: number }, account?: string): Promise<Date>;
  };
  toxics: {
    add(spec: ToxicSpec): Toxic;
    remove(name: string): boolean;
    reset(scope?: { account?: string; keyArn?: string }): number;
    list(): Toxic[];
  };
  audit: {
    query(q?: AuditQuery): AuditEvent[];
    clear(q?: { account?: string }): number;
  };
  stats(): GatewayStats;
  /** Which principal ARN stands behind an access key id (a request header `x-ekm-principal-arn` overrides it). */
  principals: {
    set(accessKeyId: string, principalArn: string): void;
    remove(accessKeyId: string): boolean;
    list(): Record<string, string>;
  };
}

export interface KmsGateway {
  /** The KMS endpoint to give the SDK (`endpoint:` of KMSClient). */
  readonly endpoint: string;
  readonly control: KmsGatewayControl;
  close(): Promise<void>;
}

/** Headers a caller may send to describe itself; AWS would know these from IAM and the calling service. */
export const HEADERS = {
  principalArn: 'x-ekm-principal-arn',
  viaService: 'x-ekm-via-service',
  grantIsForAwsResource: 'x-ekm-grant-is-for-aws-resource',
} as const;

export const CONTROL_PREFIX = '/_ekm/';

/** Operations AWS lets a principal of another account call on a key (with the key policy's consent). */
const CROSS_ACCOUNT = new Set([
  'CreateGrant', 'Decrypt', 'DeriveSharedSecret', 'DescribeKey', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'GetKeyRotationStatus',
  'GetPublicKey', 'ListGrants', 'ReEncrypt', 'RetireGrant', 'RevokeGrant', 'Sign', 'Verify', 'VerifyMac',
]);

/** Calls that change nothing; every other call on a key drops the gateway's cached metadata. */
const READ_ONLY = new Set([
  'Decrypt', 'DescribeKey', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'GenerateRandom', 'GetKeyPolicy', 'GetKeyRotationStatus',
  'GetParametersForImport', 'GetPublicKey', 'ListAliases', 'ListGrants', 'ListKeyPolicies', 'ListKeyRotations',
  'ListKeys', 'ListResourceTags', 'ListRetirableGrants', 'ReEncrypt', 'Sign', 'Verify', 'VerifyMac', 'DeriveSharedSecret',
]);

/** Cryptographic calls AWS refuses on a key whose imported material is missing or expired. */
const NEEDS_MATERIAL = new Set([
  'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateMac', 'VerifyMac', 'Sign', 'Verify',
]);

const GENERATE_DATA_KEY = new Set([
  'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
]);

const ENCRYPTION_ALGORITHMS: Record<string, readonly string[]> = {
  SYMMETRIC_DEFAULT: ['SYMMETRIC_DEFAULT'],
  RSA_2048: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  RSA_3072: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  RSA_4096: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  SM2: ['SM2PKE'],
};

interface Caller {
  accessKeyId: string;
  account: string;
  region: string;
  principalArn: string;
  viaService?: string | undefined;
  grantIsForAwsResource?: string | undefined;
  userAgent: string;
  sourceIp: string;
}

/** One key a call acts on, with the action the key policy is asked about. */
interface KeyUse {
  ref: KeyRef;
  action: string;
  encryptionContext: Record<string, string>;
}

export async function startKmsGateway(options: KmsGatewayOptions): Promise<KmsGateway> {
  const clock = options.clock instanceof Date || typeof options.clock === 'number' || options.clock === undefined
    ? new ManualClock(options.clock)
    : options.clock;
  const upstream = new Upstream(options.localstackEndpoint);
  const keys = new KeyRegistry(upstream);
  const grants = new GrantStore();
  const toxics = new Toxics(options.seed ?? 1);
  const audit = new AuditTrail(options.auditFile);
  const principals = new Map<string, string>();
  const defaultRegion = options.region ?? 'us-east-1';
  const stats = { requests: 0, forwarded: 0, accessDenied: 0, toxicFaults: 0, byOperation: {} as Record<string, number>, byErrorCode: {} as Record<string, number> };
  const hung = new Set<ServerResponse>();
  const offsets = new Map<string, number>();
  const timeOf = (account?: string): Date =>
    new Date(clock.now().getTime() + (account === undefined ? 0 : (offsets.get(account) ?? 0)));
  const sockets = new Set<Socket>();

  const control: KmsGatewayControl = {
    clock: {
      now: (account) => timeOf(account),
      advance: async (by, account) => {
        const ms = typeof by === 'number' ? by : (by.days ?? 0) * DAY_MS + (by.hours ?? 0) * 3_600_000 + (by.ms ?? 0);
        if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
        if (account === undefined) clock.advance(ms);
        else offsets.set(account, (offsets.get(account) ?? 0) + ms);
        await keys.expireMaterial(timeOf);
        return timeOf(account);
      },
    },
    toxics: {
      add: (spec) => toxics.add(spec),
      remove: (name) => toxics.remove(name),
      reset: (scope) => toxics.reset(scope),
      list: () => toxics.list(),
    },
    audit: { query: (q) => audit.query(q), clear: (q) => audit.clear(q) },
    stats: () => ({
      ...stats,
      byOperation: { ...stats.byOperation },
      byErrorCode: { ...stats.byErrorCode },
      upstreamCalls: upstream.calls,
      toxics: toxics.list().map(({ name, hits }) => ({ name, hits })),
      auditEvents: audit.size,
    }),
    principals: {
      set: (id, arn) => void principals.set(id, arn),
      remove: (id) => principals.delete(id),
      list: () => Object.fromEntries(principals),
    },
  };

  function callerOf(req: IncomingMessage): Caller {
    const auth = parseAuthorization(header(req, 'authorization'));
    const accessKeyId = auth?.accessKeyId ?? 'anonymous';
    // As in LocalStack: a 12-digit access key id is the account, anything else the default account.
    const account = /^\d{12}$/.test(accessKeyId) ? accessKeyId : '000000000000';
    return {
      accessKeyId,
      account,
      region: auth?.region ?? defaultRegion,
      principalArn: header(req, HEADERS.principalArn) ?? principals.get(accessKeyId) ?? `arn:aws:iam::${account}:root`,
      viaService: header(req, HEADERS.viaService),
      grantIsForAwsResource: header(req, HEADERS.grantIsForAwsResource),
      userAgent: header(req, 'user-agent') ?? '',
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    };
  }

  /** The keys a call acts on, resolved to ARNs; Decrypt without KeyId is routed by the key id in the blob. */
  async function keyUses(op: string, body: Record<string, unknown>, caller: Caller): Promise<KeyUse[]> {
    const ctx = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, string>) : {});
    const resolve = (raw: unknown) => keys.resolve(String(raw), caller);
    switch (op) {
      case 'CreateKey': case 'ListKeys': case 'ListAliases': case 'GenerateRandom': case 'ListRetirableGrants':
      case 'CreateCustomKeyStore': case 'DescribeCustomKeyStores':
        return body['KeyId'] === undefined ? [] : [{ ref: await resolve(body['KeyId']), action: op, encryptionContext: {} }];
      case 'Decrypt': {
        const ref = body['KeyId'] !== undefined ? await resolve(body['KeyId']) : blobKey(body['CiphertextBlob'], caller);
        return ref ? [{ ref, action: op, encryptionContext: ctx(body['EncryptionContext']) }] : [];
      }
      case 'ReEncrypt': {
        const from = body['SourceKeyId'] !== undefined ? await resolve(body['SourceKeyId']) : blobKey(body['CiphertextBlob'], caller);
        const to = await resolve(body['DestinationKeyId']);
        return [
          ...(from ? [{ ref: from, action: 'ReEncryptFrom', encryptionContext: ctx(body['SourceEncryptionContext']) }] : []),
          { ref: to, action: 'ReEncryptTo', encryptionContext: ctx(body['DestinationEncryptionContext']) },
        ];
      }
      case 'CreateAlias': case 'UpdateAlias':
        return [{ ref: await resolve(body['TargetKeyId']), action: op, encryptionContext: {} }];
      case 'RetireGrant':
        return body['KeyId'] === undefined ? [] : [{ ref: await resolve(body['KeyId']), action: op, encryptionContext: {} }];
      default:
        return body['KeyId'] === undefined ? [] : [{ ref: await resolve(body['KeyId']), action: op, encryptionContext: ctx(body['EncryptionContext']) }];
    }
  }

  function blobKey(blob: unknown, caller: Caller): KeyRef | undefined {
    if (typeof blob !== 'string') return undefined;
    // LocalStack's symmetric blob starts with the 36-character key id (see its kms/models.py).
    const keyId = Buffer.from(blob, 'base64').subarray(0, 36).toString('latin1');
    if (!/^([0-9a-f-]{36}|mrk-[0-9a-f]{32})$/.test(keyId)) return undefined;
    const owner = keys.ownerArn(keyId);
    return keyRefOf(owner ?? `arn:aws:kms:${caller.region}:${caller.account}:key/${keyId}`);
  }

  async function authorize(op: string, use: KeyUse, caller: Caller, body: Record<string, unknown>): Promise<void> {
    const { ref } = use;
    const crossAccount = ref.account !== caller.account;
    if (crossAccount && !CROSS_ACCOUNT.has(op)) {
      throw new KmsError('AccessDeniedException', messages.crossAccount(caller.principalArn, op, ref.arn));
    }
    // Retiring by token is allowed to the grant's retiring or grantee principal without the policy.
    if (op === 'RetireGrant') return;
    const policy = await keys.policy(ref);
    const decision = evaluatePolicy(policy, {
      principalArn: caller.principalArn,
      principalAccount: caller.account,
      action: `kms:${use.action}`,
      resource: ref.arn,
      context: conditionContext(op, use, caller, body),
    }).decision;
    if (decision === 'allow') return;
    if (decision === 'implicitDeny') {
      const grant = grants.allowing({
        operation: use.action,
        principalArn: caller.principalArn,
        principalAccount: caller.account,
        keyArn: ref.arn,
        encryptionContext: use.encryptionContext,
      });
      if (grant) return;
    }
    stats.accessDenied++;
    throw new KmsError('AccessDeniedException', messages.accessDenied(caller.principalArn, use.action, ref.arn, decision === 'explicitDeny'));
  }

  /** Checks AWS makes that LocalStack does not: missing material, key usage and algorithm. */
  async function checkKey(op: string, use: KeyUse, body: Record<string, unknown>): Promise<KeyMetadata | undefined> {
    const { ref } = use;
    let meta: KeyMetadata;
    try {
      meta = await keys.metadata(ref);
    } catch (error) {
      if (error instanceof KmsError && error.code === 'NotFoundException') return undefined; // LocalStack answers it
      throw error;
    }
    if ((op === 'ImportKeyMaterial' || op === 'DeleteImportedKeyMaterial') && meta.Origin !== 'EXTERNAL') {
      throw new KmsError('UnsupportedOperationException', messages.wrongOrigin(ref.arn, meta.Origin));
    }
    if (!NEEDS_MATERIAL.has(op)) return meta;
    if (meta.KeyState === 'PendingImport') throw new KmsError('KMSInvalidStateException', messages.pendingImport(ref.arn));
    const encrypts = op === 'Encrypt' || op === 'Decrypt' || use.action === 'ReEncryptFrom' || use.action === 'ReEncryptTo';
    if ((encrypts || GENERATE_DATA_KEY.has(op)) && meta.KeyUsage !== 'ENCRYPT_DECRYPT' && meta.KeyState === 'Enabled') {
      throw new KmsError('InvalidKeyUsageException', messages.wrongKeyUsage(ref.arn, meta.KeyUsage, op));
    }
    if (GENERATE_DATA_KEY.has(op) && meta.KeySpec !== 'SYMMETRIC_DEFAULT' && meta.KeyState === 'Enabled') {
      throw new KmsError('InvalidKeyUsageException', messages.wrongAlgorithm(ref.arn, meta.KeySpec, 'SYMMETRIC_DEFAULT'));
    }
    if (encrypts && meta.KeyState === 'Enabled') {
      const field = use.action === 'ReEncryptFrom' ? 'SourceEncryptionAlgorithm' : use.action === 'ReEncryptTo' ? 'DestinationEncryptionAlgorithm' : 'EncryptionAlgorithm';
      const algorithm = typeof body[field] === 'string' ? (body[field] as string) : 'SYMMETRIC_DEFAULT';
      const allowed = ENCRYPTION_ALGORITHMS[meta.KeySpec] ?? [];
      if (!allowed.includes(algorithm)) throw new KmsError('InvalidKeyUsageException', messages.wrongAlgorithm(ref.arn, meta.KeySpec, algorithm));
    }
    return meta;
  }

  /** Rewrites a request where LocalStack would look in the wrong place or fail on AWS defaults. */
  function upstreamBody(op: string, body: Record<string, unknown>, uses: KeyUse[]): Record<string, unknown> {
    const out = { ...body };
    if (op === 'Decrypt' && out['KeyId'] === undefined && uses[0]) out['KeyId'] = uses[0].ref.arn;
    if (op === 'ReEncrypt' && out['SourceKeyId'] === undefined && uses.length === 2) out['SourceKeyId'] = uses[0]!.ref.arn;
    if ((op === 'GetKeyPolicy' || op === 'PutKeyPolicy') && out['PolicyName'] === undefined) out['PolicyName'] = 'default';
    return out;
  }

  /** AWS refuses malformed policies and, unless told to bypass the check, policies that lock the caller out. */
  function checkPolicyLockout(op: string, body: Record<string, unknown>, caller: Caller, uses: KeyUse[]): void {
    if ((op !== 'PutKeyPolicy' && op !== 'CreateKey') || typeof body['Policy'] !== 'string') return;
    const resource = uses[0]?.ref.arn ?? `arn:aws:kms:${caller.region}:${caller.account}:key/*`;
    let doc;
    try {
      doc = parsePolicy(body['Policy']);
    } catch (error) {
      if (error instanceof PolicyParseError) throw new KmsError('MalformedPolicyDocumentException', error.message);
      throw error;
    }
    if (body['BypassPolicyLockoutSafetyCheck'] === true) return;
    const decision = evaluatePolicy(doc, {
      principalArn: caller.principalArn,
      principalAccount: caller.account,
      action: 'kms:PutKeyPolicy',
      resource,
      context: conditionContext(op, { ref: keyRefOf(resource) ?? { arn: resource, account: caller.account, region: caller.region, keyId: '*' }, action: op, encryptionContext: {} }, caller, body),
    }).decision;
    if (decision !== 'allow') throw new KmsError('MalformedPolicyDocumentException', messages.lockout());
  }

  /** Learns from a successful answer and overlays what the gateway keeps (deletion dates, ValidTo). */
  function afterSuccess(op: string, body: Record<string, unknown>, uses: KeyUse[], answer: Record<string, unknown>): Record<string, unknown> {
    const arn = uses[0]?.ref.arn;
    for (const use of uses) if (!READ_ONLY.has(op)) keys.forget(use.ref.arn, { policy: op === 'PutKeyPolicy' });
    keys.learn(answer['KeyId']);
    const now = timeOf(uses[0]?.ref.account);
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

  /** LocalStack answers some bad input with HTTP 500 or with its own texts; give what AWS gives. */
  function awsErrorFor(op: string, status: number, parsed: Record<string, unknown>): KmsError | undefined {
    const type = String(parsed['__type'] ?? '').split('#').pop() ?? '';
    const message = String(parsed['message'] ?? '');
    if (type === 'InvalidCiphertextException') return new KmsError('InvalidCiphertextException');
    if (type === 'ValidationError') return new KmsError('ValidationException', message);
    if (status < 500) return undefined;
    if (/unknown operation/i.test(message)) return new KmsError('UnknownOperationException');
    if (op === 'Decrypt' || op === 'ReEncrypt') return new KmsError('InvalidCiphertextException');
    return new KmsError('ValidationException', `1 validation error detected for ${op}`);
  }

  async function handleKms(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    stats.requests++;
    const target = header(req, 'x-amz-target') ?? '';
    const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
    stats.byOperation[op] = (stats.byOperation[op] ?? 0) + 1;
    const caller = callerOf(req);
    let body: Record<string, unknown> = {};
    let uses: KeyUse[] = [];
    const event = startEvent(op, caller);
    const finish = (status: number, payload: string, extra: { errorCode?: string; errorMessage?: string; toxic?: string } = {}) => {
      event.requestParameters = recordedParameters(body);
      event.resources = uses.map((u) => ({ accountId: u.ref.account, type: 'AWS::KMS::Key' as const, ARN: u.ref.arn }));
      if (extra.errorCode !== undefined) {
        event.errorCode = extra.errorCode;
        event.errorMessage = extra.errorMessage ?? '';
        stats.byErrorCode[extra.errorCode] = (stats.byErrorCode[extra.errorCode] ?? 0) + 1;
      } else if (uses[0]) {
        event.responseElements = { keyId: uses[0].ref.arn };
      }
      if (extra.toxic !== undefined) event.toxic = extra.toxic;
      audit.record(event);
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': event.eventID,
        ...(extra.errorCode !== undefined ? { 'x-amzn-errortype': extra.errorCode } : {}),
      });
      res.end(payload);
    };
    const recordUnanswered = (errorCode: string, errorMessage: string, toxic: string) => {
      stats.byErrorCode[errorCode] = (stats.byErrorCode[errorCode] ?? 0) + 1;
      audit.record({
        ...event,
        requestParameters: recordedParameters(body),
        resources: uses.map((u) => ({ accountId: u.ref.account, type: 'AWS::KMS::Key' as const, ARN: u.ref.arn })),
        errorCode,
        errorMessage,
        toxic,
      });
    };
    const fail = (error: unknown, toxic?: string) => {
      const e = toKmsError(error);
      finish(e.status, e.body(), { errorCode: e.code, errorMessage: e.message, ...(toxic !== undefined ? { toxic } : {}) });
    };

    try {
      body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      return fail(new KmsError('ValidationException', 'The request body is not valid JSON'));
    }
    try {
      validateRequest(op, body);
      uses = await keyUses(op, body, caller);
    } catch (error) {
      return fail(error);
    }

    const roll = toxics.roll({ operation: op, callerAccount: caller.account, keyArn: uses[0]?.ref.arn });
    if (roll.delayMs > 0) await new Promise((r) => setTimeout(r, roll.delayMs));
    const fault = roll.fault;
    if (fault) {
      stats.toxicFaults++;
      switch (fault.type) {
        case 'throttle':
          return fail(new KmsError('ThrottlingException', messages.throttled()), fault.name);
        case 'internal':
          return fail(new KmsError('KMSInternalException', messages.internal()), fault.name);
        case 'dependencyTimeout':
          return fail(new KmsError('DependencyTimeoutException', messages.dependencyTimeout()), fault.name);
        case 'reset':
          recordUnanswered('ConnectionReset', 'the gateway reset the connection', fault.name);
          req.socket.resetAndDestroy();
          return;
        case 'timeout': {
          recordUnanswered('RequestTimeout', 'the gateway did not answer', fault.name);
          hung.add(res);
          res.on('close', () => hung.delete(res));
          if ((fault.timeoutMs ?? 0) > 0) setTimeout(() => req.socket.destroy(), fault.timeoutMs).unref();
          return;
        }
      }
    }

    try {
      // AWS order: a deleted key does not exist for anyone; then the caller must be allowed
      // before learning anything about the key's state.
      for (const { ref } of uses) {
        if (keys.isDeleted(ref.arn, timeOf(ref.account))) throw new KmsError('NotFoundException', messages.notFound(ref.arn));
        await keys.expireMaterial(timeOf, ref.arn);
      }
      for (const use of uses) await authorize(op, use, caller, body);
      for (const use of uses) await checkKey(op, use, body);
      checkPolicyLockout(op, body, caller, uses);
      // A blob LocalStack never wrote (no key id inside) is what AWS calls an invalid ciphertext.
      if (op === 'Decrypt' && uses.length === 0) throw new KmsError('InvalidCiphertextException');
    } catch (error) {
      return fail(error);
    }

    try {
      stats.forwarded++;
      // Dropped before and after a change, so no read racing with it keeps the old state.
      if (!READ_ONLY.has(op)) for (const { ref } of uses) keys.forget(ref.arn, { policy: op === 'PutKeyPolicy' });
      const forwarded = op === 'ReEncrypt'
        ? await reEncrypt(forwardHeaders(req), body, uses)
        : await send(forwardHeaders(req), op, upstreamBody(op, body, uses));
      if ('error' in forwarded) {
        const { status, parsed, raw: text, op: failedOp } = forwarded.error;
        const mapped = awsErrorFor(failedOp, status, parsed);
        if (mapped) return fail(mapped);
        const code = String(parsed['__type'] ?? 'KMSInternalException').split('#').pop()!;
        return finish(status, text, { errorCode: code, errorMessage: String(parsed['message'] ?? '') });
      }
      const answer = afterSuccess(op, body, uses, forwarded.answer);
      finish(200, JSON.stringify(answer));
    } catch (error) {
      fail(error);
    }
  }

  type Sent = { answer: Record<string, unknown> } | { error: { status: number; parsed: Record<string, unknown>; raw: string; op: string } };

  async function send(headers: Record<string, string>, op: string, body: Record<string, unknown>): Promise<Sent> {
    const res = await upstream.send({ ...headers, 'x-amz-target': `TrentService.${op}` }, JSON.stringify(body));
    const parsed = res.body === '' ? {} : (JSON.parse(res.body) as Record<string, unknown>);
    return res.status >= 300 ? { error: { status: res.status, parsed, raw: res.body, op } } : { answer: parsed };
  }

  /**
   * LocalStack's ReEncrypt drops the account of both keys, so it fails across accounts.
   * The gateway does what it means, as the caller: Decrypt under the source key, then
   * Encrypt under the destination key; the plaintext only passes through memory.
   */
  async function reEncrypt(headers: Record<string, string>, body: Record<string, unknown>, uses: KeyUse[]): Promise<Sent> {
    const from = uses.find((u) => u.action === 'ReEncryptFrom');
    const to = uses.find((u) => u.action === 'ReEncryptTo')!;
    const decrypted = await send(headers, 'Decrypt', {
      CiphertextBlob: body['CiphertextBlob'],
      ...(from ? { KeyId: from.ref.arn } : {}),
      ...(body['SourceEncryptionContext'] !== undefined ? { EncryptionContext: body['SourceEncryptionContext'] } : {}),
      ...(body['SourceEncryptionAlgorithm'] !== undefined ? { EncryptionAlgorithm: body['SourceEncryptionAlgorithm'] } : {}),
    });
    if ('error' in decrypted) return decrypted;
    const encrypted = await send(headers, 'Encrypt', {
      KeyId: to.ref.arn,
      Plaintext: decrypted.answer['Plaintext'],
      ...(body['DestinationEncryptionContext'] !== undefined ? { EncryptionContext: body['DestinationEncryptionContext'] } : {}),
      ...(body['DestinationEncryptionAlgorithm'] !== undefined ? { EncryptionAlgorithm: body['DestinationEncryptionAlgorithm'] } : {}),
    });
    if ('error' in encrypted) return encrypted;
    return {
      answer: {
        CiphertextBlob: encrypted.answer['CiphertextBlob'],
        SourceKeyId: decrypted.answer['KeyId'],
        KeyId: encrypted.answer['KeyId'],
        SourceEncryptionAlgorithm: decrypted.answer['EncryptionAlgorithm'] ?? body['SourceEncryptionAlgorithm'] ?? 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: encrypted.answer['EncryptionAlgorithm'] ?? body['DestinationEncryptionAlgorithm'] ?? 'SYMMETRIC_DEFAULT',
      },
    };
  }

  function startEvent(op: string, caller: Caller): AuditEvent {
    return {
      eventVersion: '1.08',
      eventID: AuditTrail.newId(),
      eventTime: timeOf(caller.account).toISOString(),
      eventSource: 'kms.amazonaws.com',
      eventName: op,
      eventType: 'AwsApiCall',
      awsRegion: caller.region,
      sourceIPAddress: caller.sourceIp,
      userAgent: caller.userAgent,
      userIdentity: {
        type: identityType(caller.principalArn),
        accountId: caller.account,
        arn: caller.principalArn,
        accessKeyId: caller.accessKeyId,
      },
      requestParameters: null,
      responseElements: null,
      resources: [],
      recipientAccountId: caller.account,
      readOnly: READ_ONLY.has(op),
    };
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const path = url.pathname.slice(CONTROL_PREFIX.length).split('/').filter(Boolean);
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const m = req.method ?? 'GET';
    const [area, item] = path;
    try {
      const input = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
      const account = url.searchParams.get('account') ?? undefined;
      if (area === 'clock' && m === 'GET') return send(200, { now: control.clock.now(account).toISOString() });
      if (area === 'clock' && item === 'advance' && m === 'POST') {
        const by = input as { days?: number; hours?: number; ms?: number; account?: string };
        return send(200, { now: (await control.clock.advance(by, by.account ?? account)).toISOString() });
      }
      if (area === 'toxics' && item === undefined && m === 'GET') return send(200, control.toxics.list());
      if (area === 'toxics' && item === undefined && m === 'POST') return send(201, control.toxics.add(input as unknown as ToxicSpec));
      if (area === 'toxics' && item === 'reset' && m === 'POST') return send(200, { removed: control.toxics.reset(input) });
      if (area === 'toxics' && item !== undefined && m === 'DELETE') {
        return control.toxics.remove(decodeURIComponent(item)) ? send(204, null) : send(404, { error: 'no such toxic' });
      }
      if (area === 'audit' && item === undefined && m === 'GET') {
        const q: AuditQuery = {};
        for (const k of ['account', 'callerAccount', 'keyArn', 'errorCode', 'since', 'until'] as const) {
          const v = url.searchParams.get(k);
          if (v !== null) q[k] = v;
        }
        const names = url.searchParams.getAll('eventName');
        if (names.length > 0) q.eventName = names;
        const failed = url.searchParams.get('failed');
        if (failed !== null) q.failed = failed === 'true';
        return send(200, control.audit.query(q));
      }
      if (area === 'audit' && item === 'clear' && m === 'POST') return send(200, { removed: control.audit.clear(input) });
      if (area === 'stats' && m === 'GET') return send(200, control.stats());
      if (area === 'principals' && item === undefined && m === 'GET') return send(200, control.principals.list());
      if (area === 'principals' && item !== undefined && m === 'PUT') {
        control.principals.set(decodeURIComponent(item), String(input['principalArn']));
        return send(204, null);
      }
      if (area === 'principals' && item !== undefined && m === 'DELETE') {
        return send(control.principals.remove(decodeURIComponent(item)) ? 204 : 404, null);
      }
      return send(404, { error: `no control route ${m} ${url.pathname}` });
    } catch (error) {
      return send(400, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const handled = (req.url ?? '/').startsWith(CONTROL_PREFIX) ? handleControl(req, res, raw) : handleKms(req, res, raw);
      handled.catch((error: unknown) => {
        if (res.headersSent || res.destroyed) return;
        const e = toKmsError(error);
        res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': e.code });
        res.end(e.body());
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    control,
    async close() {
      for (const res of hung) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      upstream.close();
      audit.close();
    },
  };
}

function conditionContext(op: string, use: KeyUse, caller: Caller, body: Record<string, unknown>): Record<string, ContextValue> {
  const context: Record<string, ContextValue> = {
    'kms:CallerAccount': caller.account,
    'aws:PrincipalArn': caller.principalArn,
    'aws:PrincipalAccount': caller.account,
  };
  const pairs = Object.entries(use.encryptionContext);
  for (const [k, v] of pairs) context[`kms:EncryptionContext:${k}`] = v;
  if (pairs.length > 0) context['kms:EncryptionContextKeys'] = pairs.map(([k]) => k);
  if (caller.viaService !== undefined) context['kms:ViaService'] = caller.viaService;
  if (typeof body['EncryptionAlgorithm'] === 'string') context['kms:EncryptionAlgorithm'] = body['EncryptionAlgorithm'];
  if (op === 'CreateGrant' || op === 'ListGrants' || op === 'RevokeGrant') {
    context['kms:GrantIsForAWSResource'] = caller.grantIsForAwsResource ?? 'false';
  }
  if (op === 'CreateGrant') {
    if (typeof body['GranteePrincipal'] === 'string') context['kms:GranteePrincipal'] = body['GranteePrincipal'];
    if (typeof body['RetiringPrincipal'] === 'string') context['kms:RetiringPrincipal'] = body['RetiringPrincipal'];
    if (Array.isArray(body['Operations'])) context['kms:GrantOperations'] = body['Operations'] as string[];
  }
  return context;
}

function identityType(arn: string): AuditEvent['userIdentity']['type'] {
  if (arn.endsWith(':root')) return 'Root';
  if (arn.includes(':user/')) return 'IAMUser';
  return 'AssumedRole';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Only what LocalStack needs: the signature headers stay so it reads the account as usual. */
function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['authorization', 'content-type', 'x-amz-target', 'x-amz-date', 'x-amz-security-token', 'user-agent']) {
    const v = header(req, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}
