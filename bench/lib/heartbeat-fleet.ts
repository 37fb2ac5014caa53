/**
 * Simulated workers for router benchmarks: registrations, then heartbeats at the real rate (each
 * worker once per `heartbeatMs`, spread evenly over the interval), with the descriptor and load a
 * real worker sends, on the registry subject of each worker's cluster. No engines: only the
 * registry traffic routers see.
 */
import type { RegistryEvent, WorkerDescriptor, WorkerLoad } from '../../src/actors/router/registry.protocol.js';
import { subjects } from '../../src/transport/subjects.js';
import type { Transport } from '../../src/transport/transport.js';

export interface Fleet {
  /** Heartbeats sent so far. */
  sent(): number;
  stop(): void;
}

export function startHeartbeatFleet(transport: Transport, workers: ReadonlyArray<{ workerId: string; cluster: string }>, heartbeatMs: number): Fleet {
  const descriptors: WorkerDescriptor[] = workers.map(({ workerId, cluster }, i) => ({
    workerId, functionId: 'demo', versionId: 'v1', model: 'llmux-sim-8b', engineKind: 'vllm', cluster,
    labels: { gpu: i % 2 ? 'h100' : 'l4', zone: `zone-${i % 3}` }, capacity: 64, heartbeatMs,
  }));
  const ok = new Array<number>(descriptors.length).fill(0);
  const load = (i: number): WorkerLoad => ({
    inFlight: i % 5, state: 'active', healthy: true, outcomes: { ok: ok[i] as number, failed: 0 }, ttftMs: 180 + (i % 40),
    usage: { tokensPerMinute: 20_000 + i, requestsPerMinute: 60 }, engine: { running: i % 5, waiting: 0, kvCacheUsage: 0.3 }, aborts: { orphaned: 0, stalled: 0 },
  });
  const publish = (i: number, type: 'register' | 'heartbeat'): void => {
    const worker = descriptors[i] as WorkerDescriptor;
    ok[i] = (ok[i] as number) + 1;
    transport.publish(subjects.registry(worker.cluster, worker.workerId), { type, worker, load: load(i) } satisfies RegistryEvent);
  };
  descriptors.forEach((_, i) => publish(i, 'register'));
  const start = performance.now();
  let sent = 0;
  // Every 10 ms, the heartbeats due by now: each worker once per interval, in a fixed order.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) / heartbeatMs) * descriptors.length);
    for (; sent < due; sent++) publish(sent % descriptors.length, 'heartbeat');
  }, 10);
  return {
    sent: () => sent,
    stop: () => clearInterval(timer),
  };
}
