/**
 * The router's decision time on its own: decide() (eligibility, the method, the decision record)
 * over a table of N workers with mixed loads, some of them ineligible, timed call by call. The
 * prefix methods run twice: on the approximate index, and (`+kv`) with every worker's KV events in
 * the exact index as well, the prompt named by its token-id blocks.
 */
import { routingMethods, type RoutingMethod } from '../../src/control/function.schema.js';
import { decide } from '../../src/actors/router/decision.js';
import { prefixBlocks } from '../../src/actors/router/hash.js';
import { prefixMethods } from '../../src/actors/router/methods/index.js';
import { routingRequest, seededRandom, workerDescriptor, workerLoad } from '../../src/actors/router/router-test-support.js';
import { newRoutingState, type RoutingState } from '../../src/actors/router/routing-request.js';
import { tokenBlocks } from '../../src/actors/router/token-blocks.js';
import { WorkerTable } from '../../src/actors/router/worker-table.js';
import { percentile } from './stats.js';

export interface DecisionTiming {
  workers: number;
  /** The method, with `+kv` when the exact KV index was filled. */
  method: string;
  p50Us: number;
  p99Us: number;
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

export function timeDecisions(sizes: readonly number[], decisions: number): DecisionTiming[] {
  const out: DecisionTiming[] = [];
  const variants: Array<{ method: RoutingMethod; kv: boolean }> = routingMethods.flatMap((method) =>
    prefixMethods.has(method) ? [{ method, kv: false }, { method, kv: true }] : [{ method, kv: false }]);
  for (const n of sizes) {
    for (const { method, kv } of variants) {
      const random = seededRandom(n * 31 + method.length);
      const table = tableOf(n, random);
      const state = newRoutingState(random);
      // 64 shared system prompts of ~3,000 characters, each already served by some worker.
      const prompts = Array.from({ length: 64 }, (_, p) => `system prompt ${p}: ${'lorem ipsum dolor sit amet '.repeat(110)}`);
      const workers = table.ofFunction('fn');
      prompts.forEach((p, i) => state.prefixes.insert((workers[i % workers.length] as (typeof workers)[number]).descriptor.workerId, prefixBlocks(p, 512)));
      if (kv) fillKv(state, workers, prompts);
      const samples: number[] = [];
      for (let i = 0; i < decisions; i++) {
        const prompt = `${prompts[i % prompts.length] as string} user turn ${i}: ${'question text '.repeat(10)}`;
        const ids = idsOf(prompt);
        const request = routingRequest({ requestId: `r${i}`, key: `session-${i % 500}`, tokens: ids.length + 256, promptTokens: ids.length, blocks: prefixBlocks(prompt, 512),
          ...(kv ? { tokenBlocks: tokenBlocks(ids, blockSize, 512), blockSize } : {}) });
        const t0 = performance.now();
        const { winner } = decide({ request, method, options: {}, fleet: table.fleet('fn'), state, now: 0, cluster: 'local' });
        samples.push((performance.now() - t0) * 1000);
        // The winner takes the request; every fourth, its report comes in (loads stay bounded).
        if (winner && winner.dispatchedSinceReport < 3) table.routed(winner.descriptor.workerId, 0);
        else if (winner) table.updateInFlight(winner.descriptor.workerId, winner.load.inFlight, 0);
      }
      samples.sort((a, b) => a - b);
      out.push({ workers: n, method: kv ? `${method}+kv` : method, p50Us: percentile(samples, 50), p99Us: percentile(samples, 99) });
    }
  }
  return out;
}
