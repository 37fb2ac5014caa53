/**
 * The router's decision time on its own: decide() (eligibility, the method, the decision record)
 * over a table of N workers with mixed loads, some of them ineligible, timed call by call. The
 * prefix methods run twice: on the approximate index, and (`+kv`) with every worker's KV events in
 * the exact index as well, the prompt named by its token-id blocks.
 *
 * Nothing is left out of p99: every decision is timed, garbage collection included, and each
 * decision is kept in a DecisionLog as the router keeps it (outside the timing), so the heap holds
 * what a router's does. Garbage collections that ran while a decision was being timed are counted.
 */
import { routingMethods, type RoutingMethod } from '../../src/control/function.schema.js';
import { PerformanceObserver } from 'node:perf_hooks';
import { decide } from '../../src/actors/router/decision.js';
import { DecisionLog } from '../../src/actors/router/decision-log.js';
import { prefixBlocks } from '../../src/actors/router/hash.js';
import { prefixMethods } from '../../src/actors/router/methods/index.js';
import { routingRequest, seededRandom, workerDescriptor, workerLoad } from '../../src/actors/router/router-test-support.js';
import { newRoutingState, type RoutingState } from '../../src/actors/router/routing-request.js';
import { tokenBlocks } from '../../src/actors/router/token-blocks.js';
import { WorkerTable } from '../../src/actors/router/worker-table.js';
import { percentile } from './stats.js';

/**
 * Garbage collection pauses from now until stop(): when each ended (performance.now() time) and
 * how long it took. Node delivers them between event-loop turns, so only the async run sees them.
 */
function gcPauses(): { stop(): Array<{ end: number; ms: number }> } {
  const seen: Array<{ end: number; ms: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) seen.push({ end: entry.startTime + entry.duration, ms: entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      observer.disconnect();
      return seen;
    },
  };
}

/** Decisions between two yields of the run (the async run lets GC entries arrive there). */
const yieldEvery = 250;

export interface DecisionTiming {
  workers: number;
  /** The method, with `+kv` when the exact KV index was filled. */
  method: string;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /**
   * The same decisions by the process's CPU time (process.cpuUsage around each): what the decision
   * cost without the time the OS gave other processes; it includes threads running meanwhile (V8's
   * concurrent GC and compiler).
   */
  cpuP50Us: number;
  cpuP99Us: number;
  /** Garbage collections that ended inside a timed decision, and their total pause (NaN: not observed, the synchronous run). */
  gcInside: number;
  gcInsideMs: number;
}

const blockSize = 16;

function tableOf(n: number, random: () => number): WorkerTable {
  const table = new WorkerTable();
  for (let i = 0; i < n; i++) {
    const r = random();
    table.upsert(workerDescriptor(`worker-${i}`, { capacity: 32, cluster: i % 4 === 0 ? 'remote' : 'local' }), workerLoad({
      inFlight: Math.floor(random() * 32), state: r < 0.05 ? 'draining' : 'active', healthy: r > 0.02,
      ttftMs: 50 + random() * 200, usage: { tokensPerMinute: Math.floor(random() * 100_000), requestsPerMinute: 0 },
      engine: { kvCacheUsage: random(), waiting: Math.floor(random() * 8) },
    }), 0);
  }
  return table;
}

/** Token ids standing for a text: one per word, as the simulator counts them. */
const idsOf = (text: string): number[] => text.split(/\s+/).filter(Boolean).map((w) => [...w].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261) % 128_000);

/** Every worker's engine holds a few of the system prompts, as its KV events said. */
function fillKv(state: RoutingState, workers: ReturnType<WorkerTable['ofFunction']>, prompts: readonly string[]): void {
  workers.forEach((w, i) => {
    const index = state.kv.forWorker(w.descriptor.workerId, 'fn', 'm', blockSize);
    for (let k = 0; k < 3; k++) {
      const ids = idsOf(prompts[(i + k * 17) % prompts.length] as string);
      const full = Math.floor(ids.length / blockSize);
      index.apply({ type: 'kv-events', workerId: w.descriptor.workerId, model: 'm', blockSize, seq: k, ts: 0, events: [
        { type: 'stored', blocks: Array.from({ length: full }, (_, b) => `${i}-${k}-${b}`), tokens: ids.slice(0, full * blockSize) },
      ] });
    }
  });
}

/** The run, synchronously (GC pauses not observed). */
export function timeDecisions(sizes: readonly number[], decisions: number, only?: string): DecisionTiming[] {
  const run = decisionRun(sizes, decisions, only, false);
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
  }
}

/** The run, yielding to the event loop every few hundred decisions so GC pauses can be matched to them. */
export async function timeDecisionsObservingGc(sizes: readonly number[], decisions: number, only?: string): Promise<DecisionTiming[]> {
  const run = decisionRun(sizes, decisions, only, true);
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function* decisionRun(sizes: readonly number[], decisions: number, only: string | undefined, observeGc: boolean): Generator<void, DecisionTiming[]> {
  const out: DecisionTiming[] = [];
  const variants: Array<{ method: RoutingMethod; kv: boolean }> = routingMethods.flatMap((method) =>
    prefixMethods.has(method) ? [{ method, kv: false }, { method, kv: true }] : [{ method, kv: false }]);
  for (const n of sizes) {
    for (const { method, kv } of variants) {
      if (only !== undefined && (kv ? `${method}+kv` : method) !== only) continue;
      const random = seededRandom(n * 31 + method.length);
      const table = tableOf(n, random);
      const state = newRoutingState(random);
      // 64 shared system prompts of ~3,000 characters, each already served by some worker.
      const prompts = Array.from({ length: 64 }, (_, p) => `system prompt ${p}: ${'lorem ipsum dolor sit amet '.repeat(110)}`);
      const workers = table.ofFunction('fn');
      prompts.forEach((p, i) => state.prefixes.insert((workers[i % workers.length] as (typeof workers)[number]).descriptor.workerId, prefixBlocks(p, 512)));
      if (kv) fillKv(state, workers, prompts);
      const samples: number[] = [];
      const cpu: number[] = [];
      const starts = new Float64Array(decisions);
      const log = new DecisionLog();
      const gcs = gcPauses();
      for (let i = 0; i < decisions; i++) {
        if (i % yieldEvery === yieldEvery - 1) yield;
        const prompt = `${prompts[i % prompts.length] as string} user turn ${i}: ${'question text '.repeat(10)}`;
        const ids = idsOf(prompt);
        const request = routingRequest({ requestId: `r${i}`, key: `session-${i % 500}`, tokens: ids.length + 256, promptTokens: ids.length, blocks: prefixBlocks(prompt, 512),
          ...(kv ? { tokenBlocks: tokenBlocks(ids, blockSize, 512), blockSize } : {}) });
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const { winner, candidates } = decide({ request, method, options: {}, fleet: table.fleet('fn'), state, now: 0, cluster: 'local' });
        const t1 = performance.now();
        const c1 = process.cpuUsage(c0);
        cpu.push(c1.user + c1.system);
        starts[i] = t0;
        samples.push((t1 - t0) * 1000);
        log.add({ requestId: request.requestId, attempt: 1, routerId: 'r', at: 0, functionId: 'fn', model: 'm', method, overridden: false,
          candidates, outcome: winner ? 'dispatched' : 'no_active_backend', cluster: 'local', locality: 'prefer', decisionMicros: (t1 - t0) * 1000,
          ...(winner ? { winner: winner.descriptor.workerId } : {}) });
        // The winner takes the request; every fourth, its report comes in (loads stay bounded).
        if (winner && winner.dispatchedSinceReport < 3) table.routed(winner.descriptor.workerId, 0);
        else if (winner) table.updateInFlight(winner.descriptor.workerId, winner.load.inFlight, 0);
      }
      yield;
      const inside = gcs.stop().filter((gc) => {
        // A pause ending within a decision's timed span (binary search over the starts).
        let lo = 0;
        let hi = decisions - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >>> 1;
          if ((starts[mid] as number) <= gc.end) lo = mid;
          else hi = mid - 1;
        }
        return (starts[lo] as number) <= gc.end && gc.end <= (starts[lo] as number) + (samples[lo] as number) / 1000;
      });
      samples.sort((a, b) => a - b);
      cpu.sort((a, b) => a - b);
      out.push({ workers: n, method: kv ? `${method}+kv` : method, p50Us: percentile(samples, 50), p99Us: percentile(samples, 99),
        maxUs: samples[samples.length - 1] ?? NaN, cpuP50Us: percentile(cpu, 50), cpuP99Us: percentile(cpu, 99), gcInside: observeGc ? inside.length : NaN, gcInsideMs: observeGc ? inside.reduce((sum, gc) => sum + gc.ms, 0) : NaN });
    }
  }
  return out;
}
