/**
 * The llmux process of `bench:memory`: what `llmux up --engine-url` runs in one process (limiter,
 * router, gateway, workers, one tokenizer pool), against a nats-server and an engine started by the
 * bench in processes of their own, so that this process's RSS is llmux's alone. It exists because
 * `llmux up` cannot hold 10,000 streams: its gateway keeps the default connection caps (8,192 in
 * all, 256 per client address) and its workers the default capacity (64), and each worker's engine
 * pool holds 128 connections, so W workers stream at most 128·W requests at once.
 *
 *   node dist/bench/lib/memory-stack.js --nats URL --engine-url URL --workers 80 --capacity 128
 *
 * `--role front` runs limiter, router and gateway only (waiting for --workers workers started first by
 * `--role workers` in another process): `bench:memory --split`, so that neither process holds more
 * than one socket per stream (the descriptor limit here is 20,000).
 *
 * Prints `memory-stack ready <gateway URL>` (`workers` for --role workers) once every worker is in
 * the router's table; SIGTERM stops it, SIGHUP runs a full GC.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerDemoFunction } from '../../src/control/demo-function.js';
import { runGateway, runLimiter, runRouter, runWorker } from '../../src/launch/roles.js';
import { createLogger } from '../../src/observability/logger.js';
import { RouterMetrics } from '../../src/observability/router-metrics.js';
import { WorkerMetrics } from '../../src/observability/worker-metrics.js';
import { createTokenCounter } from '../../src/tokenize/index.js';

const { values } = parseArgs({
  options: {
    nats: { type: 'string' },
    'engine-url': { type: 'string' },
    model: { type: 'string', default: 'llmux-sim-8b' },
    workers: { type: 'string', default: '4' },
    capacity: { type: 'string', default: '128' },
    // all: every role here; front: limiter, router, gateway (waiting for --workers workers started elsewhere); workers: the workers only.
    role: { type: 'string', default: 'all' },
    'lease-timeout-ms': { type: 'string' },
    'keepalive-ms': { type: 'string' },
    'engine-stall-ms': { type: 'string' },
    'liveness-timeout-ms': { type: 'string' },
  },
});
if (!values.nats || !values['engine-url']) throw new Error('--nats and --engine-url are required');
const natsUrl = values.nats;
const engineUrl = values['engine-url'];
const model = values.model;
const count = Number(values.workers);
const capacity = Number(values.capacity);
// The workers' lease timeout (`llmux worker --lease-timeout-ms`; default 2 s).
// With the workers' keepalive and engine-stall timeouts and the gateway's liveness timeout (`llmux worker`
// --lease-timeout-ms, --keepalive-ms, --engine-stall-ms; `llmux gateway --liveness-timeout-ms`); defaults theirs.
const given = (name: string): number | undefined => (values[name as keyof typeof values] ? Number(values[name as keyof typeof values]) : undefined);
const timeouts = Object.fromEntries(Object.entries({ leaseTimeoutMs: given('lease-timeout-ms'), keepaliveMs: given('keepalive-ms'), engineStallMs: given('engine-stall-ms') })
  .filter(([, v]) => v !== undefined)) as { leaseTimeoutMs?: number; keepaliveMs?: number; engineStallMs?: number };
const livenessTimeoutMs = given('liveness-timeout-ms');
const log = createLogger('bench-memory', process.env.LLMUX_LOG_LEVEL ?? 'error');
const tokens = createTokenCounter();
const stops: Array<() => Promise<void>> = [() => tokens.close()];

const role = values.role;
if (!['all', 'front', 'workers'].includes(role)) throw new Error(`--role: all, front or workers, not ${role}`);
const workerMetrics = new WorkerMetrics({ defaultMetrics: false });
const startWorkers = async (): Promise<void> => {
  for (let i = 0; i < count; i++) {
    const worker = await runWorker({ natsUrl, log, engineUrl, engineKind: 'vllm', functionId: 'demo', versionId: 'v1', model, capacity, tokens, metrics: workerMetrics, timeouts });
    stops.push(() => worker.stop());
  }
};
let url = 'workers';
if (role === 'workers') {
  await startWorkers();
} else {
  url = await startFront();
}

async function startFront(): Promise<string> {
const limiter = await runLimiter({ natsUrl, log });
stops.push(() => limiter.stop());
const routerMetrics = new RouterMetrics({ defaultMetrics: false });
const router = await runRouter({ natsUrl, log, metrics: routerMetrics });
stops.push(() => router.stop());
const gateway = await runGateway({
  natsUrl, log, host: '127.0.0.1', port: 0, apiKeys: [], auth: 'off', tokens,
  http: { maxConnections: 0, maxConnectionsPerClient: 0 },
  ...(livenessTimeoutMs ? { limits: { livenessTimeoutMs } } : {}),
});
stops.push(() => gateway.stop());
// The workers' and router's metrics on the gateway's /metrics too, as `llmux up` serves them (engine aborts by reason, …).
gateway.metrics.include(workerMetrics.registry);
gateway.metrics.include(routerMetrics.registry);
await registerDemoFunction(gateway.catalog, model);
if (role === 'all') await startWorkers();
for (let i = 0; i < 400 && (router.table.size < count || router.catalog.resolve('demo', model) === undefined); i++) await sleep(25);
if (router.table.size < count) throw new Error(`only ${router.table.size} of ${count} workers registered`);
return gateway.url;
}

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    process.exit(0);
  })();
});
// SIGHUP: a full GC (with --expose-gc), so the bench samples memory that is still held rather than garbage.
process.on('SIGHUP', () => (globalThis as { gc?: () => void }).gc?.());
process.stdout.write(`memory-stack ready ${url}\n`);
