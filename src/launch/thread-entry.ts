/**
 * The entry of a worker thread of `llmux up --threads N` (thread-host.ts hosts it): it starts the
 * workers it is given, each with its engine simulator when it has no engine URL, each worker with
 * its own NATS connection and identity on this thread, and one token counter and one WorkerMetrics
 * for the thread, and tracing when the OTEL_* variables ask for it. It answers the host's metrics
 * questions and stops everything when asked.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../observability/logger.js';
import { startTracing, stopTracing } from '../observability/tracing.js';
import { WorkerMetrics } from '../observability/worker-metrics.js';
import { parseToThread, type FromThread } from '../actors/runtime/thread-protocol.js';
import { type SimOptions, startSim } from '../sim/sim-server.js';
import { createTokenCounter } from '../tokenize/index.js';
import { type RunWorkerOptions, runWorker } from './roles.js';
import { StartedRoles } from './started-roles.js';

/** One worker as the thread starts it: its options less what the thread makes itself, and its simulator's when it has no engine. */
export interface ThreadWorker {
  worker: Omit<RunWorkerOptions, 'log' | 'tokens' | 'metrics' | 'engineUrl'> & { engineUrl?: string };
  sim?: SimOptions;
}

export interface ThreadPlan {
  workers: ThreadWorker[];
  /** The pino level of the thread's logs (stderr, as the main thread's). */
  logLevel: string;
}

const port = parentPort;
if (!port) throw new Error('thread-entry.ts runs on a worker thread only');
const post = (m: FromThread, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const plan = workerData as ThreadPlan;
const log = createLogger('worker', plan.logLevel);
const roles = new StartedRoles(log, () => undefined);
const metrics = new WorkerMetrics({ defaultMetrics: false });

async function start(): Promise<Record<string, unknown>> {
  // The thread's own SDK and exporter (the OTEL_* variables are the process's): its workers' spans
  // and their engine calls, under the service name of `llmux up`'s main thread.
  await startTracing('up');
  const tokens = createTokenCounter();
  roles.add('tokenizer pool', { stop: () => tokens.close() });
  const engines: string[] = [];
  for (const w of plan.workers) {
    let engineUrl = w.worker.engineUrl;
    if (!engineUrl) {
      const sim = await startSim(w.sim ?? {});
      roles.add('engine simulator', sim);
      engineUrl = sim.url;
    }
    engines.push(engineUrl);
    const worker = await runWorker({ ...w.worker, engineUrl, log: log.child({ role: 'worker' }), tokens, metrics });
    roles.add('worker', worker);
  }
  return { engines, workers: plan.workers.map((w) => w.worker.workerId) };
}

port.on('message', (raw: unknown) => {
  const m = parseToThread(raw);
  if (!m) return;
  if (m.type === 'metrics') {
    void metrics.registry.getMetricsAsJSON().then((json) => {
      const bytes = new TextEncoder().encode(JSON.stringify(json));
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      post({ type: 'metrics', id: m.id, json: buffer }, [buffer]);
    });
  } else {
    // Exiting ends this thread only; the host waits for its exit.
    void roles.stopAll().then(stopTracing).finally(() => {
      post({ type: 'stopped' });
      process.exit(0);
    });
  }
});

start().then((info) => post({ type: 'ready', info }), (error: unknown) => {
  log.error({ err: error }, 'the thread could not start its workers');
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  void roles.stopAll().then(stopTracing).finally(() => process.exit(1));
});
