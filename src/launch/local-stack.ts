/**
 * A whole llmux on one machine: a managed nats-server (unless a URL is given), a router, workers
 * (each with its own engine simulator unless an engine URL is given) and a gateway, each role with
 * its own NATS connection exactly as in a distributed deployment. Used by `llmux up`, the
 * integration tests and the benchmarks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { demoFunctionId, demoModel, demoVersionId, registerDemoFunction } from '../control/demo-function.js';
import type { FunctionCatalog } from '../control/function-catalog.js';
import type { LlmConfig } from '../control/function.schema.js';
import { type WorkerBinding, WorkerBindings } from '../control/worker-bindings.js';
import type { BreakerPolicy } from '../actors/router/circuit-breaker.js';
import type { Router } from '../actors/router/router.js';
import type { Worker } from '../actors/worker/worker.js';
import type { Logger } from '../observability/logger.js';
import { LimiterMetrics } from '../observability/limiter-metrics.js';
import { RouterMetrics } from '../observability/router-metrics.js';
import { WorkerMetrics } from '../observability/worker-metrics.js';
import { type SimOptions, type SimServer, startSim } from '../sim/sim-server.js';
import { createTokenCounter } from '../tokenize/index.js';
import { authorizationConfig, newIdentity } from '../transport/nats/nats-credentials.js';
import { type NatsServerHandle, startNatsServer } from '../transport/nats/nats-server-process.js';
import type { Limiter } from '../actors/limiter/limiter.js';
import { type AuthMode, defaultAuthMode } from '../policy/auth-mode.js';
import type { JwtOptions } from '../policy/jwt-auth.js';
import { StartedRoles } from './started-roles.js';
import { HostedThread } from '../actors/runtime/thread-host.js';
import { compiledFile } from '../os/compiled-file.js';
import type { ThreadPlan } from './thread-entry.js';
import { newId, type RunGatewayOptions, type RunningGateway, type RunWorkerOptions, runGateway, runLimiter, runRouter, runWorker } from './roles.js';

export interface LocalStackOptions {
  log: Logger;
  /** Use this NATS server instead of starting one. */
  natsUrl?: string;
  host?: string;
  port?: number;
  workers?: number;
  /** Routers, active-active (default 1). */
  routers?: number;
  /** The routers' circuit breaker (default: defaultBreakerPolicy). */
  breakerPolicy?: BreakerPolicy;
  /** Requests each worker takes at once before it counts as full (default 64). */
  workerCapacity?: number;
  apiKeys?: string[];
  /** Whether callers must authenticate; default: defaultAuthMode (off only on loopback with its own NATS and no keys or JWT). */
  auth?: AuthMode;
  /** The admin credential (the admin API is off without one). */
  adminKey?: string;
  jwt?: JwtOptions;
  /** How long gateways wait for workers (accept and idle timeouts, attempts). */
  sessionLimits?: RunGatewayOptions['limits'];
  /** Longest a request may take end to end (the gateway's `--request-timeout-ms`). */
  requestTimeoutMs?: number;
  /** Gateways sharing the limiter (default 1); `gatewayUrl` is the first. */
  gateways?: number;
  limiter?: RunGatewayOptions['limiter'];
  /** Start the limiter (default true): without it, limits fail open or closed. */
  startLimiter?: boolean;
  /** Point every worker at this engine instead of starting simulators. */
  engineUrl?: string;
  /** The engine adapter; without engineUrl, the simulators speak this engine's wire format. Default vllm. */
  engineKind?: string;
  /** The key the engine expects (simulators are started requiring it). */
  engineApiKey?: string;
  engineSettings?: Record<string, string>;
  /** The model name the engine serves. */
  model?: string;
  /**
   * The function (version v1) the workers serve. The demo function is registered by the stack; any
   * other is left for the control plane to create (`llmux functions create …`). Default `demo`.
   */
  functionId?: string;
  /** Settings of the demo model's llmConfig (routingMethod, routing, …) over the defaults. */
  llmConfig?: Partial<LlmConfig>;
  sim?: Omit<SimOptions, 'models' | 'format' | 'apiKey' | 'port' | 'host'>;
  /**
   * Threads for the workers and their simulators: 1 (the default) runs every role on the main
   * thread; N > 1 spreads the workers (each with its simulator) over N − 1 worker threads, each
   * worker with its own NATS connection there, while the gateway, routers and limiter stay on the
   * main thread (docs/decisions/0005-actors-on-threads.md). `llmux up` defaults to the cores available.
   */
  threads?: number;
  heartbeatMs?: number;
  /** Workers' keepalive, lease, engine-stall and drain timeouts. */
  workerTimeouts?: RunWorkerOptions['timeouts'];
  /** Install nats-server with apt-get when it is missing (as root). */
  installNats?: boolean;
  onProgress?: (line: string) => void;
}

export interface LocalStack {
  gatewayUrl: string;
  natsUrl: string;
  /** Model ids clients use (`<function-id>/<model-name>`). */
  models: string[];
  nats: NatsServerHandle | undefined;
  gateway: RunningGateway;
  gateways: RunningGateway[];
  /** How a client of this stack's NATS connects (the control identity when llmux runs nats-server). */
  natsCredentials: { nkeySeed?: string };
  /**
   * A NATS identity for one more worker (started elsewhere with `--nkey-seed-file`): nats-server reloads
   * its users live. Only when llmux runs nats-server. The identity is bound (`workers.<id>`) to
   * `binding`, by default what the stack's own workers serve; `null` leaves it unbound, so routers
   * refuse it. Resolves once every router sees the binding.
   */
  addWorkerIdentity(workerId: string, binding?: WorkerBinding | null): Promise<{ nkeySeed: string }>;
  limiter: Limiter | undefined;
  /** The first router (of `routers`). */
  router: Router;
  routers: Router[];
  /** The workers on the main thread (none with threads > 1). */
  workers: Worker[];
  /** The engine simulators on the main thread. */
  sims: SimServer[];
  /** The worker threads (threads > 1), each hosting some of the workers. */
  threads: HostedThread[];
  /** Every worker's id, on whichever thread it runs. */
  workerIds: string[];
  /** Every worker's engine URL (its simulator's, unless an engine URL was given). */
  engineUrls: string[];
  /** The routers', workers' and limiter's metrics, one set for the process, also served by the first gateway's GET /metrics. */
  roleMetrics: { router: RouterMetrics; worker: WorkerMetrics; limiter: LimiterMetrics };
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const progress = options.onProgress ?? (() => undefined);
  const roles = new StartedRoles(options.log, progress);
  const stopAll = (): Promise<void> => roles.stopAll();
  try {
    const count = options.workers ?? 2;
    const functionId = options.functionId ?? demoFunctionId;
    // When llmux runs nats-server itself, every role connects with an nkey identity, and each worker's
    // permissions name only its own subjects (nats-credentials.ts).
    const identities = options.natsUrl ? undefined : {
      control: newIdentity(),
      workers: Array.from({ length: count }, () => ({ workerId: newId('worker'), identity: newIdentity() })),
    };
    const control = identities ? { nkeySeed: identities.control.seed } : {};
    let nats: NatsServerHandle | undefined;
    if (identities) {
      progress('starting nats-server (JetStream, one identity per worker) ...');
      nats = await startNatsServer({ install: options.installNats ?? false, log: progress, config: authorizationConfig(identities.control, identities.workers) });
      roles.add('nats-server', nats);
    }
    const natsUrl = options.natsUrl ?? (nats as NatsServerHandle).url;
    const model = options.model ?? demoModel;
    const heartbeatMs = options.heartbeatMs ?? 1000;
    const engineKind = options.engineKind ?? 'vllm';
    // One tokenizer pool for every role in this process.
    const tokens = createTokenCounter();
    roles.add('tokenizer pool', { stop: () => tokens.close() });
    // One set for every role of the process; the gateway's own metrics already cover the process's CPU and memory.
    const roleMetrics = { router: new RouterMetrics({ defaultMetrics: false }), worker: new WorkerMetrics({ defaultMetrics: false }), limiter: new LimiterMetrics({ defaultMetrics: false }) };

    const routers: Router[] = [];
    for (let i = 0; i < (options.routers ?? 1); i++) {
      progress(`starting router ${i + 1} ...`);
      // Where the stack issues worker identities, a worker without a binding is refused (fail closed).
      const router = await runRouter({ natsUrl, log: options.log.child({ role: 'router' }), ...control, requireWorkerBinding: identities !== undefined, metrics: roleMetrics.router,
        ...(options.breakerPolicy ? { breakerPolicy: options.breakerPolicy } : {}) });
      roles.add('router', router);
      routers.push(router);
    }
    const router = routers[0] as Router;

    // Whoever issues a worker identity binds it to what it may serve (control/worker-bindings.ts); the
    // workers start only once every router sees their bindings, so none is refused at registration.
    const issuer = new WorkerBindings(router.catalog.kv);
    const stackBinding: WorkerBinding = { functionId, versionId: demoVersionId, model, issuedAt: new Date().toISOString(), issuedBy: 'llmux local stack' };
    const bind = async (workerId: string, binding: WorkerBinding | null): Promise<void> => {
      if (binding) await issuer.put(workerId, binding);
      else await issuer.delete(workerId);
      const seen = (r: Router): boolean => JSON.stringify(r.bindings.get(workerId) ?? null) === JSON.stringify(binding);
      for (let i = 0; i < 200 && !routers.every(seen); i++) await sleep(25);
      if (!routers.every(seen)) throw new Error(`routers did not see the binding of worker '${workerId}' within 5 s`);
    };
    for (const w of identities?.workers ?? []) await bind(w.workerId, stackBinding);
    const addWorkerIdentity = async (workerId: string, binding: WorkerBinding | null = stackBinding): Promise<{ nkeySeed: string }> => {
      if (!identities || !nats) throw new Error('worker identities exist only when llmux runs nats-server');
      const identity = newIdentity();
      identities.workers.push({ workerId, identity });
      await bind(workerId, binding);
      await nats.reload(authorizationConfig(identities.control, identities.workers));
      return { nkeySeed: identity.seed };
    };

    const sims: SimServer[] = [];
    const workers: Worker[] = [];
    const threads: HostedThread[] = [];
    const workerIds = Array.from({ length: count }, (_, i) => identities?.workers[i]?.workerId ?? newId('worker'));
    const engineUrls: string[] = [];
    const simOptions: SimOptions = { models: [model], format: engineKind, ...options.sim, ...(options.engineApiKey ? { apiKey: options.engineApiKey } : {}) };
    const workerOptions = (i: number): Omit<RunWorkerOptions, 'log' | 'engineUrl'> => ({
      natsUrl, engineKind, functionId, versionId: demoVersionId, model, heartbeatMs, workerId: workerIds[i] as string,
      ...(options.workerTimeouts ? { timeouts: options.workerTimeouts } : {}),
      ...(identities ? { nkeySeed: identities.workers[i]?.identity.seed as string } : {}),
      ...(options.workerCapacity ? { capacity: options.workerCapacity } : {}),
      ...(options.engineApiKey ? { engineApiKey: options.engineApiKey } : {}),
      ...(options.engineSettings ? { engineSettings: options.engineSettings } : {}),
    });
    const threadCount = Math.min(Math.max(1, Math.floor(options.threads ?? 1)) - 1, count);
    if (threadCount > 0) {
      progress(`starting ${count} ${engineKind} worker(s) on ${threadCount} thread(s)${options.engineUrl ? ` for ${options.engineUrl}` : ' with engine simulators'} ...`);
      for (let t = 0; t < threadCount; t++) {
        const mine = workerIds.map((_, i) => i).filter((i) => i % threadCount === t);
        const plan: ThreadPlan = {
          logLevel: options.log.level,
          workers: mine.map((i) => ({ worker: { ...workerOptions(i), ...(options.engineUrl ? { engineUrl: options.engineUrl } : {}) }, sim: simOptions })),
        };
        const thread = await HostedThread.start({ name: `workers ${mine.map((i) => workerIds[i]).join(', ')}`, entry: compiledFile(import.meta.url, 'thread-entry.js'),
          data: plan, log: options.log });
        roles.add('worker thread', thread);
        threads.push(thread);
        engineUrls.push(...(thread.info.engines as string[]));
      }
    } else {
      progress(`starting ${count} ${engineKind} worker(s)${options.engineUrl ? ` for ${options.engineUrl}` : ` with ${engineKind} engine simulators`} ...`);
    }
    for (let i = 0; i < count && threadCount === 0; i++) {
      let engineUrl = options.engineUrl;
      if (!engineUrl) {
        const sim = await startSim(simOptions);
        roles.add('engine simulator', sim);
        sims.push(sim);
        engineUrl = sim.url;
      }
      engineUrls.push(engineUrl);
      const worker = await runWorker({ ...workerOptions(i), log: options.log.child({ role: 'worker' }), engineUrl, tokens, metrics: roleMetrics.worker });
      roles.add('worker', worker);
      workers.push(worker);
    }

    let limiter: Limiter | undefined;
    if (options.startLimiter !== false) {
      progress('starting limiter ...');
      limiter = await runLimiter({ natsUrl, log: options.log.child({ role: 'limiter' }), ...control, metrics: roleMetrics.limiter });
      roles.add('limiter', limiter);
    }
    const auth = options.auth ?? defaultAuthMode({ host: options.host ?? '127.0.0.1', staticKeys: options.apiKeys?.length ?? 0,
      jwt: options.jwt !== undefined, sharedKeyStore: options.natsUrl !== undefined });
    const gateways: RunningGateway[] = [];
    for (let i = 0; i < (options.gateways ?? 1); i++) {
      progress(`starting gateway${(options.gateways ?? 1) > 1 ? ` ${i + 1}` : ''} ...`);
      const g = await runGateway({
        natsUrl, log: options.log.child({ role: 'gateway' }), ...control, host: options.host ?? '127.0.0.1', port: i === 0 ? (options.port ?? 0) : 0,
        apiKeys: options.apiKeys ?? [], auth, tokens, ...(options.adminKey ? { adminKey: options.adminKey } : {}),
        ...(options.jwt ? { jwt: options.jwt } : {}), ...(options.sessionLimits ? { limits: options.sessionLimits } : {}),
        ...(options.limiter ? { limiter: options.limiter } : {}), ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      });
      roles.add('gateway', g);
      gateways.push(g);
    }
    const gateway = gateways[0] as RunningGateway;
    // Scraped once, through the first gateway: a second gateway serving them too would count them twice.
    for (const { registry } of Object.values(roleMetrics)) gateway.metrics.include(registry);
    for (const thread of threads) gateway.metrics.includeRemote(() => thread.metrics());
    if (functionId === demoFunctionId) await registerDemoFunction(gateway.catalog, model, options.llmConfig);

    // Ready when every router knows every worker and the demo function. The gateway's catalog sees its
    // own write at once, the routers' only through their KV watch: a request sent before that watch
    // delivers is refused as an unknown model (the flaky "shuts a worker down gracefully").
    const knowsDemo = (c: { resolve: FunctionCatalog['resolve'] }): boolean => functionId !== demoFunctionId || c.resolve(demoFunctionId, model) !== undefined;
    const ready = (): boolean => routers.every((r) => r.table.size >= count && knowsDemo(r.catalog)) && knowsDemo(gateway.catalog);
    for (let i = 0; i < 200 && !ready(); i++) await sleep(25);
    for (const r of routers) {
      if (r.table.size < count) throw new Error(`only ${r.table.size} of ${count} workers registered with ${r.routerId}`);
      if (!knowsDemo(r.catalog)) throw new Error(`${r.routerId} did not see the demo function within 5 s`);
    }

    return {
      gatewayUrl: gateway.url, natsUrl, models: [`${functionId}/${model}`], nats, natsCredentials: control, addWorkerIdentity, gateway, gateways, limiter, router, routers, workers, sims, threads, workerIds, engineUrls, roleMetrics,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
