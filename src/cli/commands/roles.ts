/** `llmux gateway|router|worker`: one role each, for real deployments. */
import type { HttpLimits } from '../../actors/gateway/http-limits.js';
import { defaultBreakerPolicy } from '../../actors/router/circuit-breaker.js';
import { runGateway, runLimiter, runRouter, runWorker } from '../../launch/roles.js';
import { createLogger } from '../../observability/logger.js';
import { LimiterMetrics } from '../../observability/limiter-metrics.js';
import { RouterMetrics } from '../../observability/router-metrics.js';
import { WorkerMetrics } from '../../observability/worker-metrics.js';
import { startTracing } from '../../observability/tracing.js';
import { stopOnSignals } from './lifecycle.js';
import { type MetricsFlags, serveRoleMetrics } from './metrics-endpoint.js';
import { roleAccessFrom } from './nats-identity.js';
import { type PolicyFlags, policyFromFlags } from './policy-options.js';

export async function gateway(opts: {
  nats: string; nkeySeedFile?: string; cluster: string; port: number; host: string; apiKey?: string[];
  acceptTimeoutMs: number; livenessTimeoutMs: number; idleTimeoutMs: number; leaseIntervalMs: number; maxAttempts: number;
  clientStallMs: number; maxBufferedBytes: number; requestTimeoutMs: number; resumeIdleMs: number; maxTokensCeiling: number; responsesTtlMs: number;
} & HttpLimits & PolicyFlags & MetricsFlags): Promise<void> {
  const log = createLogger('gateway');
  await startTracing('gateway');
  const limits = { acceptTimeoutMs: opts.acceptTimeoutMs, livenessTimeoutMs: opts.livenessTimeoutMs, idleTimeoutMs: opts.idleTimeoutMs,
    leaseIntervalMs: opts.leaseIntervalMs, maxAttempts: opts.maxAttempts, clientStallMs: opts.clientStallMs, maxBufferedBytes: opts.maxBufferedBytes };
  const policy = policyFromFlags(opts);
  const g = await runGateway({
    natsUrl: opts.nats, ...roleAccessFrom(opts), cluster: opts.cluster, port: opts.port, host: opts.host, apiKeys: opts.apiKey ?? [], log, limits,
    requestTimeoutMs: opts.requestTimeoutMs, resume: { idleMs: opts.resumeIdleMs }, maxTokensCeiling: opts.maxTokensCeiling, answers: { ttlMs: opts.responsesTtlMs }, ...policy,
    http: { headersTimeoutMs: opts.headersTimeoutMs, bodyTimeoutMs: opts.bodyTimeoutMs, keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
      maxConnections: opts.maxConnections, maxConnectionsPerClient: opts.maxConnectionsPerClient },
    // With a metrics port of its own, the public port serves no metrics.
    metricsOnPublicPort: opts.metricsPort === undefined,
  });
  const metrics = await serveRoleMetrics(opts, g.metrics.registry, log);
  stopOnSignals(async () => {
    await metrics.stop();
    await g.stop();
  });
  log.info({ url: g.url, ...(metrics.url ? { metrics: metrics.url } : {}), cluster: opts.cluster, auth: policy.auth, staticKeys: (opts.apiKey ?? []).length, jwt: policy.jwt !== undefined, admin: opts.adminKey !== undefined, limiterFail: opts.limiterFail }, 'gateway listening');
}

export async function router(opts: { nats: string; nkeySeedFile?: string; cluster: string; id?: string; breakerCooldownMs: number; requireWorkerBinding?: boolean } & MetricsFlags): Promise<void> {
  const log = createLogger('router');
  await startTracing('router');
  const breakerPolicy = { ...defaultBreakerPolicy, cooldownMs: opts.breakerCooldownMs, maxCooldownMs: 12 * opts.breakerCooldownMs };
  const requireWorkerBinding = opts.requireWorkerBinding ?? opts.nkeySeedFile !== undefined;
  const routerMetrics = new RouterMetrics();
  const r = await runRouter({ natsUrl: opts.nats, ...roleAccessFrom(opts), log, cluster: opts.cluster, breakerPolicy, requireWorkerBinding, metrics: routerMetrics,
    ...(opts.id ? { routerId: opts.id } : {}) });
  const metrics = await serveRoleMetrics(opts, routerMetrics.registry, log);
  stopOnSignals(async () => {
    await metrics.stop();
    await r.stop();
  });
  log.info({ router: r.routerId, ...(metrics.url ? { metrics: metrics.url } : {}), cluster: opts.cluster, requireWorkerBinding }, 'router running');
}

export async function worker(opts: {
  nats: string; nkeySeedFile?: string; engineUrl: string; engine: string; engineOption?: Record<string, string>; engineApiKey?: string; tokenizer?: string;
  function: string; functionVersion: string;
  model: string; id?: string; capacity: number; heartbeatMs: number; engineWaitS: number;
  keepaliveMs: number; leaseTimeoutMs: number; engineStallMs: number; drainTimeoutMs: number;
  cluster: string; label?: Record<string, string>; weight?: number; tpmLimit?: number; rpmLimit?: number;
} & MetricsFlags): Promise<void> {
  const log = createLogger('worker');
  await startTracing('worker');
  const workerMetrics = new WorkerMetrics();
  const w = await runWorker({
    metrics: workerMetrics,
    natsUrl: opts.nats, ...roleAccessFrom(opts), log, engineKind: opts.engine, engineUrl: opts.engineUrl, functionId: opts.function,
    versionId: opts.functionVersion, model: opts.model, capacity: opts.capacity, heartbeatMs: opts.heartbeatMs,
    engineWaitMs: opts.engineWaitS * 1000, cluster: opts.cluster, labels: opts.label ?? {},
    timeouts: { keepaliveMs: opts.keepaliveMs, leaseTimeoutMs: opts.leaseTimeoutMs, engineStallMs: opts.engineStallMs, drainTimeoutMs: opts.drainTimeoutMs },
    ...(opts.weight !== undefined ? { weight: opts.weight } : {}),
    ...(opts.tpmLimit !== undefined || opts.rpmLimit !== undefined
      ? { limits: { ...(opts.tpmLimit !== undefined ? { tokensPerMinute: opts.tpmLimit } : {}), ...(opts.rpmLimit !== undefined ? { requestsPerMinute: opts.rpmLimit } : {}) } }
      : {}),
    ...(opts.engineApiKey ? { engineApiKey: opts.engineApiKey } : {}),
    ...(opts.engineOption ? { engineSettings: opts.engineOption } : {}),
    ...(opts.tokenizer ? { tokenizer: opts.tokenizer } : {}),
    ...(opts.id ? { workerId: opts.id } : {}),
  });
  const metrics = await serveRoleMetrics(opts, workerMetrics.registry, log);
  stopOnSignals(async () => {
    await w.stop();
    await metrics.stop();
  });
  log.info({ worker: w.descriptor.workerId, ...(metrics.url ? { metrics: metrics.url } : {}), cluster: opts.cluster, model: opts.model, engine: opts.engine }, 'worker registered');
}

export async function limiter(opts: { nats: string; nkeySeedFile?: string } & MetricsFlags): Promise<void> {
  const log = createLogger('limiter');
  await startTracing('limiter');
  const limiterMetrics = new LimiterMetrics();
  const l = await runLimiter({ natsUrl: opts.nats, ...roleAccessFrom(opts), log, metrics: limiterMetrics });
  const metrics = await serveRoleMetrics(opts, limiterMetrics.registry, log);
  stopOnSignals(async () => {
    await metrics.stop();
    await l.stop();
  });
  log.info(metrics.url ? { metrics: metrics.url } : {}, 'limiter running');
}
