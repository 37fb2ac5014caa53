/**
 * Starting one role: connect its own NATS connection, open what it needs, start its actor. Used by
 * the single-role commands (`llmux gateway|router|worker`) and by `llmux up`.
 */
import { randomBytes } from 'node:crypto';
import { FunctionCatalog, controlBucket } from '../control/function-catalog.js';
import { type Gateway, type GatewayOptions, startGateway } from '../actors/gateway/gateway.js';
import { LimiterClient, type LimiterFailMode } from '../actors/gateway/limiter-client.js';
import { openUsageStream, UsageLedger } from '../ledger/usage-ledger.js';
import { type Limiter, startLimiter } from '../actors/limiter/limiter.js';
import { ApiKeyStore } from '../policy/api-key-store.js';
import type { AuthMode } from '../policy/auth-mode.js';
import { RouteTable } from '../control/route-table.js';
import type { BreakerPolicy } from '../actors/router/circuit-breaker.js';
import { type Router, startRouter } from '../actors/router/router.js';
import { type Worker, type WorkerOptions, startWorker } from '../actors/worker/worker.js';
import { openStreamJournal } from '../actors/gateway/stream-journal.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { LimiterMetrics } from '../observability/limiter-metrics.js';
import type { RouterMetrics } from '../observability/router-metrics.js';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import type { WorkerDescriptor, WorkerLimits } from '../actors/router/registry.protocol.js';
import { waitForEngine } from '../actors/worker/engine-readiness.js';
import { createEngineAdapter } from '../engine-adapters/registry.js';
import type { Logger } from '../observability/logger.js';
import { createChatPromptRenderer, createTokenCounter, guessTokenizer, type TokenCounter } from '../tokenize/index.js';
import { connectNats, type NatsTlsOptions } from '../transport/nats/nats-transport.js';
import { defaultCluster, subjects } from '../transport/subjects.js';
import type { Transport } from '../transport/transport.js';

/** The cluster of workers and routers started without one. */
export { defaultCluster } from '../transport/subjects.js';

/** The nkey seed a role connects with, when NATS requires identities (nats-credentials.ts). */
/** How a role reaches NATS: the server URLs, and optionally its nkey identity and TLS files (`llmux pki`). */
export interface NatsAccess {
  natsUrl: string;
  /** Connect as this nkey identity (its seed). */
  nkeySeed?: string;
  /** TLS: the CA of the servers, and this process's client certificate where servers verify clients. */
  natsTls?: NatsTlsOptions;
}

const access = (options: NatsAccess): { servers: string; nkeySeed?: string; tls?: NatsTlsOptions } =>
  ({ servers: options.natsUrl, ...(options.nkeySeed ? { nkeySeed: options.nkeySeed } : {}), ...(options.natsTls ? { tls: options.natsTls } : {}) });

export interface Stoppable {
  stop(): Promise<void>;
}

async function openCatalog(transport: Transport): Promise<FunctionCatalog> {
  const catalog = new FunctionCatalog(await transport.keyValue(controlBucket, { history: 5 }));
  await catalog.start();
  return catalog;
}

export const newId = (role: string): string => `${role}-${randomBytes(4).toString('hex')}`;

export interface RunGatewayOptions extends Omit<GatewayOptions, 'transport' | 'catalog' | 'tokens' | 'keys' | 'admission' | 'ledger' | 'routes'>, NatsAccess {
  /** Whether callers must authenticate (default `required`), handed to the gateway's Authenticator. */
  auth?: AuthMode;
  /** Rate limiting: what to do when the limiter does not answer (default open), and the default completion reservation. */
  limiter?: { failMode?: LimiterFailMode; defaultMaxTokens?: number; timeoutMs?: number };
  /** Write the usage ledger (default true). */
  ledger?: boolean;
  nkeySeed?: string;
  /** A token counter to share (its pool's threads); by default the gateway starts and closes its own. */
  tokens?: TokenCounter;
  /**
   * The cluster the gateway runs in, for its logs. Which routers take its requests is NATS's choice:
   * across NATS gateways, one of its own cluster's while one is up.
   */
  cluster?: string;
}

/** The given counter (the caller closes it), or a new one that `release` closes. */
function tokenCounter(given: TokenCounter | undefined): { tokens: TokenCounter; release(): Promise<void> } {
  if (given) return { tokens: given, release: async () => undefined };
  const tokens = createTokenCounter();
  return { tokens, release: () => tokens.close() };
}

export type RunningGateway = Gateway & { catalog: FunctionCatalog; keys: ApiKeyStore; routes: RouteTable; ledger: UsageLedger | undefined };

export async function runGateway(options: RunGatewayOptions): Promise<RunningGateway> {
  const transport = await connectNats({ ...access(options), name: newId('gateway') });
  const catalog = await openCatalog(transport);
  const { tokens, release } = tokenCounter(options.tokens);
  const controlKv = await transport.keyValue(controlBucket, { history: 5 });
  const keys = new ApiKeyStore(controlKv);
  await keys.start();
  const routes = new RouteTable(controlKv);
  await routes.start();
  const limiter = new LimiterClient(transport, options.limiter?.timeoutMs ?? 500);
  const metrics = options.metrics ?? new GatewayMetrics();
  const ledger = options.ledger === false ? undefined : new UsageLedger(await openUsageStream(transport, options.cluster ?? defaultCluster), options.log, 64, () => metrics.ledgerSetAside.inc(), options.cluster ?? defaultCluster);
  const journal = await openStreamJournal(transport);
  const { ledger: _writeLedger, limiter: _limiterOptions, nkeySeed: _seed, natsTls: _tls, cluster, ...gatewayOptions } = options;
  if (cluster !== undefined) gatewayOptions.log = options.log.child({ cluster });
  const gateway = await startGateway({
    ...gatewayOptions, transport, catalog, tokens, keys, routes, journal, metrics,
    admission: { limiter, failMode: options.limiter?.failMode ?? 'open', defaultMaxTokens: options.limiter?.defaultMaxTokens ?? 1024 },
    ...(ledger ? { ledger } : {}),
  });
  return {
    ...gateway,
    url: gateway.url,
    port: gateway.port,
    metrics: gateway.metrics,
    catalog,
    keys,
    routes,
    ledger,
    async stop() {
      await gateway.stop();
      // Records still waiting for the server get a moment to land.
      await ledger?.flush(5_000);
      limiter.close();
      keys.stop();
      routes.stop();
      catalog.stop();
      await transport.close();
      await release();
    },
  };
}

export interface RunRouterOptions extends NatsAccess {
  log: Logger;
  routerId?: string;
  cluster?: string;
  breakerPolicy?: BreakerPolicy;
  nkeySeed?: string;
  /** Where its metrics go (one RouterMetrics may serve several routers). */
  metrics?: RouterMetrics;
  /** RouterOptions.takeGatewayRequests (default true). */
  takeGatewayRequests?: boolean;
  summaryIntervalMs?: number;
  /**
   * Refuse workers without a binding record (RouterOptions.requireWorkerBinding). Default: on when the
   * router connects with an nkey identity, i.e. in a deployment whose workers have identities of their own.
   */
  requireWorkerBinding?: boolean;
}

export async function runRouter(options: RunRouterOptions): Promise<Router> {
  const routerId = options.routerId ?? newId('router');
  // Its own `routed` events would come back to it, one read and decode per request, to be dropped.
  const transport = await connectNats({ ...access(options), name: routerId, noEcho: true });
  const catalog = await openCatalog(transport);
  const router = await startRouter({ transport, catalog, log: options.log, routerId,
    requireWorkerBinding: options.requireWorkerBinding ?? options.nkeySeed !== undefined,
    ...(options.cluster !== undefined ? { cluster: options.cluster } : {}), ...(options.breakerPolicy ? { breakerPolicy: options.breakerPolicy } : {}),
    ...(options.takeGatewayRequests !== undefined ? { takeGatewayRequests: options.takeGatewayRequests } : {}),
    ...(options.summaryIntervalMs !== undefined ? { summaryIntervalMs: options.summaryIntervalMs } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}) });
  const unwatch = options.metrics?.watch(router);
  return {
    routerId,
    table: router.table,
    catalog: router.catalog,
    decisions: router.decisions,
    bindings: router.bindings,
    cluster: router.cluster,
    clusters: router.clusters,
    cacheHits: router.cacheHits,
    stats: router.stats,
    async stop() {
      unwatch?.();
      await router.stop();
      catalog.stop();
      await transport.close();
    },
  };
}

export interface RunWorkerOptions extends NatsAccess {
  /** The worker's own NATS identity: its permissions name its worker id (nats-credentials.ts). */
  nkeySeed?: string;
  log: Logger;
  engineKind: string;
  engineUrl: string;
  engineApiKey?: string;
  /** Engine-specific settings (`--engine-option key=value`). */
  engineSettings?: Record<string, string>;
  /** The tokenizer whose chat template renders prompts for text-only engine endpoints (default: guessed from the model). */
  tokenizer?: string;
  /** A token counter to share; by default the worker starts and closes its own. */
  tokens?: TokenCounter;
  workerId?: string;
  functionId: string;
  versionId: string;
  model: string;
  capacity?: number;
  /** Default `local`. */
  cluster?: string;
  labels?: Record<string, string>;
  weight?: number;
  limits?: WorkerLimits;
  heartbeatMs?: number;
  /** How long to wait for the engine's health endpoint before giving up (default 60 s). */
  engineWaitMs?: number;
  /** Keepalive, lease, engine-stall and drain timeouts (workerTimeoutDefaults). */
  timeouts?: Pick<WorkerOptions, 'keepaliveMs' | 'leaseTimeoutMs' | 'engineStallMs' | 'drainTimeoutMs'>;
  /** Where its metrics go, as its `worker_id` (one WorkerMetrics may serve several workers). */
  metrics?: WorkerMetrics;
}

export async function runWorker(options: RunWorkerOptions): Promise<Worker> {
  const descriptor: WorkerDescriptor = {
    workerId: options.workerId ?? newId('worker'),
    functionId: options.functionId,
    versionId: options.versionId,
    model: options.model,
    engineKind: options.engineKind,
    cluster: options.cluster ?? defaultCluster,
    labels: options.labels ?? {},
    capacity: options.capacity ?? 64,
    heartbeatMs: options.heartbeatMs ?? 1000,
    ...(options.weight !== undefined ? { weight: options.weight } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  };
  const engine = createEngineAdapter(options.engineKind, {
    baseUrl: options.engineUrl,
    chatPrompt: createChatPromptRenderer(options.tokenizer ?? guessTokenizer(options.model)),
    ...(options.engineApiKey ? { apiKey: options.engineApiKey } : {}),
    ...(options.engineSettings ? { settings: options.engineSettings } : {}),
  });
  try {
    await waitForEngine(engine, options.engineUrl, options.engineWaitMs ?? 60_000, options.log);
  } catch (error) {
    await engine.close();
    throw error;
  }
  const transport = await connectNats({ ...access(options), name: descriptor.workerId });
  const { tokens, release } = tokenCounter(options.tokens);
  const worker = await startWorker({ transport, engine, tokens, descriptor, log: options.log.child({ worker: descriptor.workerId }), ...options.timeouts,
    ...(options.metrics ? { metrics: options.metrics.forWorker(descriptor.workerId) } : {}) });
  // A signed answer to an inbox nobody reads: refused when the identity's nats-server entry predates
  // signed answers, which would otherwise show only as every request timing out on this worker.
  transport.publish(subjects.workerAnswer(`${transport.newInboxPrefix()}.probe`, descriptor.workerId), { type: 'probe' });
  // The server answers a refused subscription or publish before the flush's PONG: check once, now.
  await transport.flush();
  await new Promise((resolve) => setImmediate(resolve));
  const refused = transport.refusals();
  if (refused.length > 0) {
    await worker.stop().catch(() => undefined);
    await transport.close();
    await release();
    const subscription = refused.find((r) => /Subscription/i.test(r));
    if (subscription) {
      throw new Error(`NATS refused worker '${descriptor.workerId}' (${subscription}): its identity was made for another worker id; start it with the --id its seed belongs to`);
    }
    throw new Error(`NATS refused worker '${descriptor.workerId}' a signed answer (${refused[0]}): its nats-server user entry predates signed answers; ` +
      `it needs publish ${subjects.workerAnswers(descriptor.workerId).map((a) => `"${a}"`).join(' and ')} (docs/deployment.md, "Upgrading worker permissions")`);
  }
  const unwatch = options.metrics?.watch(descriptor.workerId, () => worker.inFlight());
  return {
    descriptor,
    inFlight: worker.inFlight,
    stats: worker.stats,
    drain: worker.drain,
    async stop() {
      await worker.stop();
      unwatch?.();
      await transport.close();
      await release();
    },
  };
}

export async function runLimiter(options: NatsAccess & { log: Logger; metrics?: LimiterMetrics }): Promise<Limiter> {
  const transport = await connectNats({ ...access(options), name: newId('limiter') });
  const limiter = await startLimiter({ transport, log: options.log, ...(options.metrics ? { metrics: options.metrics } : {}) });
  options.metrics?.watch(() => limiter.state.reservations);
  return {
    state: limiter.state,
    async stop() {
      await limiter.stop();
      await transport.close();
    },
  };
}
