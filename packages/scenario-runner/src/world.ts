/**
 * One world per process: MSW intercepts process-wide, so two Graph servers would steal each other's tenants.
 *
 * The world a run happens in: LocalStack (found or started by @ekm/localstack), one KMS
 * gateway in front of it, one MSW server answering Microsoft Graph for every scenario's
 * tenant, and per scenario its own accounts, provider bucket and tenant, so scenarios
 * run concurrently on the one LocalStack.
 */
import { startLocalStack, type LocalStack } from '@ekm/localstack';
import { startKmsGateway, type KmsGateway } from '@ekm/kms-gateway';
import { startGraphHttp, type GraphHttpServer } from '@ekm/entra-mock';
import type { ProviderBinding } from '@ekm/protocol';
import type { Executor } from './schedule.ts';
import { transitionIds } from './catalogue.ts';
import { ScenarioRun } from './world/run.ts';
import type { SecretScanner } from './secrets.ts';

export const LOCALSTACK_MODES = ['auto', 'host', 'docker', 'external'] as const;
export type LocalstackMode = (typeof LOCALSTACK_MODES)[number];

export interface WorldOptions {
  readonly localstack: LocalstackMode;
  /** An already running LocalStack endpoint. */
  readonly endpoint?: string;
  readonly signal?: AbortSignal;
  /** Append the gateway's audit trail to this file as JSON lines. */
  readonly auditFile?: string;
  /**
   * Searches what the run writes for the run's keys: imported material the harness made, and
   * what the provider's own `onKeyMaterial` option tells it (the reference provider's, in process).
   */
  readonly secrets?: SecretScanner;
  /** The provider under test, reached only through `ekm.provider/v1`. */
  readonly provider: ProviderBinding;
}

export interface World {
  readonly executor: Executor;
  /** An executor on the same world for another provider (the explorer's planted-bug proof, a non-conforming provider). */
  withProvider(provider: ProviderBinding): Executor;
  readonly provider: ProviderBinding;
  /** Every transition id of the EKM state machine, for `transitions.total`. */
  readonly transitions: readonly string[];
  readonly localstack?: { readonly endpoint: string; readonly mode: string; readonly startMs: number };
  /** Stops whatever the world started; safe to call twice. */
  close(): Promise<void>;
}

export const REGION = 'us-east-1';

export async function openWorld(options: WorldOptions): Promise<World> {
  let localstack: LocalStack | undefined;
  let gateway: KmsGateway | undefined;
  let graph: GraphHttpServer | undefined;
  const secrets = options.secrets;
  const close = async () => {
    if (secrets !== undefined) {
      if (options.auditFile !== undefined) secrets.scanFile(options.auditFile, 'the KMS audit trail');
      if (localstack?.logFile !== undefined) secrets.scanFile(localstack.logFile, "LocalStack's log");
    }
    await graph?.close();
    graph = undefined;
    await gateway?.close();
    gateway = undefined;
    await localstack?.stop();
    localstack = undefined;
  };
  try {
    localstack = await startLocalStack({
      mode: options.localstack,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    });
    gateway = await startKmsGateway({
      localstackEndpoint: localstack.endpoint,
      region: REGION,
      ...(options.auditFile === undefined ? {} : { auditFile: options.auditFile }),
    });
    graph = await startGraphHttp();
  } catch (error) {
    await close();
    throw error;
  }
  const parts = {
    localstackEndpoint: localstack.endpoint,
    gateway,
    graph,
    region: REGION,
    localstackPid: localstack.pid,
    ...(secrets === undefined ? {} : { secrets }),
  };
  const withProvider =
    (provider: ProviderBinding): Executor =>
    (loaded) =>
      new ScenarioRun({ ...parts, provider }, loaded).run();
  return {
    executor: withProvider(options.provider),
    withProvider,
    provider: options.provider,
    transitions: transitionIds(),
    localstack: { endpoint: localstack.endpoint, mode: localstack.mode, startMs: localstack.startMs },
    close,
  };
}
