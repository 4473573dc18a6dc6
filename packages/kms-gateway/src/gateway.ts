import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AuditTrail, recordedParameters, type AuditEvent, type AuditQuery } from './audit.ts';
import { authorize, authorizeRetire, checkKey, checkPolicyLockout } from './checks.ts';
import { DAY_MS, ManualClock, type GatewayClock } from './clock.ts';
import { CONTROL_PREFIX, handleControl } from './control.ts';
import { KmsError, messages, parseAwsError, toKmsError } from './errors.ts';
import { GrantStore } from './grants.ts';
import { awsErrorFor, HANDLERS, keyUses, upstreamBody, type Send } from './handlers.ts';
import { callerOf, header, identityType, principalProblem, type Caller } from './identity.ts';
import { ImportBroker } from './imports.ts';
import { KeyRegistry } from './keys.ts';
import { AddedLatency, answering, notSampled, type LatencySummary } from './latency.ts';
import { afterSuccess } from './learn.ts';
import { factsOf } from './operations.ts';
import { RotationLog } from './rotations.ts';
import { forwardHeaders, type GatewayState, type KeyUse, type Sent } from './state.ts';
import { Toxics, type Toxic, type ToxicSpec } from './toxics.ts';
import { Upstream } from './upstream.ts';
import { validateRequest } from './validate.ts';

export { CONTROL_PREFIX } from './control.ts';
export { HEADERS } from './identity.ts';

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
  /**
   * Multiplies the toxics' times (latency, jitter, hang), so a fault scenario's waits cost a
   * fraction of real time. Give the provider's KMS client the same factor (`timeScale` of
   * `createKmsClient` in @ekm/kms) so the ratios hold: a hang still outlasts the client's timeout.
   * Default: the environment variable `EKM_TIME_SCALE` when it is a number in (0, 1], else 1.
   */
  timeScale?: number;
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
  /** The gateway's own time per KMS call, LocalStack's excluded (see `control.latency`). */
  addedLatency: LatencySummary;
  timeScale: number;
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
  /**
   * The gateway's added latency per KMS call: its own handling time, the time spent waiting on
   * LocalStack excluded, calls a toxic acted on left out. `reset` starts a new sample.
   */
  latency: {
    summary(): LatencySummary;
    reset(): void;
  };
  /**
   * Which principal ARN stands behind an access key id (a request header `x-ekm-principal-arn`
   * overrides it per call). The principal must belong to the access key's own account:
   * `set` throws a RangeError otherwise, and a header naming another account's principal is
   * refused with UnrecognizedClientException.
   */
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

export async function startKmsGateway(options: KmsGatewayOptions): Promise<KmsGateway> {
  const clock = options.clock instanceof Date || typeof options.clock === 'number' || options.clock === undefined
    ? new ManualClock(options.clock)
    : options.clock;
  const upstream = new Upstream(options.localstackEndpoint);
  const keys = new KeyRegistry(upstream);
  const grants = new GrantStore();
  const imports = new ImportBroker();
  const rotations = new RotationLog();
  const toxics = new Toxics(options.seed ?? 1);
  const scale = options.timeScale ?? timeScaleFromEnv();
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`timeScale must be in (0, 1], got ${scale}`);
  const latency = new AddedLatency();
  const audit = new AuditTrail(options.auditFile);
  const principals = new Map<string, string>();
  const defaultRegion = options.region ?? 'us-east-1';
  const stats = { requests: 0, forwarded: 0, accessDenied: 0, toxicFaults: 0, byOperation: {} as Record<string, number>, byErrorCode: {} as Record<string, number> };
  const hung = new Set<ServerResponse>();
  const offsets = new Map<string, number>();
  const timeOf = (account?: string): Date =>
    new Date(clock.now().getTime() + (account === undefined ? 0 : (offsets.get(account) ?? 0)));
  const sockets = new Set<Socket>();
  const state: GatewayState = { upstream, keys, grants, imports, rotations, stats, timeOf };

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
      addedLatency: latency.summary(),
      timeScale: scale,
    }),
    latency: { summary: () => latency.summary(), reset: () => latency.reset() },
    principals: {
      set: (id, arn) => {
        const problem = principalProblem(id, arn);
        if (problem !== undefined) throw new RangeError(`principals.set: ${problem}`);
        principals.set(id, arn);
      },
      remove: (id) => principals.delete(id),
      list: () => Object.fromEntries(principals),
    },
  };

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
      readOnly: factsOf(op).readOnly === true,
    };
  }

  async function handleKms(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    stats.requests++;
    const target = header(req, 'x-amz-target') ?? '';
    const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
    stats.byOperation[op] = (stats.byOperation[op] ?? 0) + 1;
    let caller: Caller;
    try {
      caller = callerOf(req, principals, defaultRegion);
    } catch (error) {
      // No identity, so no account to deliver an audit event to (as CloudTrail).
      const e = toKmsError(error);
      stats.byErrorCode[e.code] = (stats.byErrorCode[e.code] ?? 0) + 1;
      res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': e.code });
      res.end(e.body());
      return;
    }
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
      answering();
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
      uses = await keyUses(state, op, body, caller);
    } catch (error) {
      return fail(error);
    }

    const roll = toxics.roll({ operation: op, callerAccount: caller.account, keyArn: uses[0]?.ref.arn });
    if (roll.delayMs > 0 || roll.fault !== undefined) notSampled();
    if (roll.delayMs > 0) await new Promise((r) => setTimeout(r, roll.delayMs * scale));
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
          if ((fault.timeoutMs ?? 0) > 0) setTimeout(() => req.socket.destroy(), fault.timeoutMs! * scale).unref();
          return;
        }
      }
    }

    try {
      // AWS order: a deleted key does not exist for anyone; then the caller must be allowed
      // before learning anything about the key's state.
      for (const { ref } of uses) {
        if (keys.isDeleted(ref.arn, timeOf(ref.account))) {
          imports.forgetKey(ref.arn);
          rotations.forgetKey(ref.arn);
          throw new KmsError('NotFoundException', messages.notFound(ref.arn));
        }
        await keys.expireMaterial(timeOf, ref.arn);
      }
      for (const use of uses) await authorize(state, op, use, caller, body);
      if (op === 'RetireGrant') authorizeRetire(state, body, uses, caller);
      for (const use of uses) await checkKey(state, op, use, body);
      checkPolicyLockout(op, body, caller, uses);
      // A blob LocalStack never wrote (no key id inside) is what AWS calls an invalid ciphertext.
      if (op === 'Decrypt' && uses.length === 0) throw new KmsError('InvalidCiphertextException');
    } catch (error) {
      return fail(error);
    }

    try {
      stats.forwarded++;
      // Dropped before and after a change, so no read racing with it keeps the old state.
      if (!factsOf(op).readOnly) for (const { ref } of uses) keys.forget(ref.arn, { policy: op === 'PutKeyPolicy' });
      const headers = forwardHeaders(req);
      const send: Send = (name, payload) => sendUpstream(headers, name, payload);
      const handler = HANDLERS[op];
      const forwarded = handler ? await handler({ s: state, op, body, uses, caller, send }) : await send(op, upstreamBody(op, body, uses));
      if ('error' in forwarded) {
        const { status, code, message, raw: text, op: failedOp } = forwarded.error;
        const mapped = awsErrorFor(failedOp, status, code, message);
        if (mapped) return fail(mapped);
        return finish(status, text, { errorCode: code || 'KMSInternalException', errorMessage: message });
      }
      const answer = afterSuccess(state, op, body, uses, forwarded.answer);
      finish(200, JSON.stringify(answer));
    } catch (error) {
      fail(error);
    }
  }

  async function sendUpstream(headers: Record<string, string>, op: string, body: Record<string, unknown>): Promise<Sent> {
    const res = await upstream.send({ ...headers, 'x-amz-target': `TrentService.${op}` }, JSON.stringify(body));
    if (res.status < 300) return { answer: res.body === '' ? {} : (JSON.parse(res.body) as Record<string, unknown>) };
    return { error: { status: res.status, ...parseAwsError(res.body), raw: res.body, op } };
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const handled = (req.url ?? '/').startsWith(CONTROL_PREFIX) ? handleControl(control, req, res, raw) : latency.track(() => handleKms(req, res, raw));
      handled.catch((error: unknown) => {
        if (res.headersSent || res.destroyed) return;
        const e = toKmsError(error);
        res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': e.code });
        res.end(e.body());
      });
    });
  });
  // Node closes an idle keep-alive connection after 5 s; a client that sends on it as it closes gets
  // ECONNRESET, which a harness client without retries (the key administrator's) reports as a
  // refusal. AWS endpoints keep idle connections far longer, so the gateway does too.
  // Regression: scenarios/running/update-during-backup.yaml over HTTP (a step after a long hold).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
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

/** `EKM_TIME_SCALE` when it is a number in (0, 1]; otherwise 1 (the same rule as @ekm/kms's client). */
function timeScaleFromEnv(): number {
  const scale = Number(process.env['EKM_TIME_SCALE']);
  return scale > 0 && scale <= 1 ? scale : 1;
}
