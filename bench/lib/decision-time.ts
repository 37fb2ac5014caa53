/**
 * The router's decision time on its own: decide() (eligibility, the method, the decision record)
 * over a table of N workers with mixed loads, some of them ineligible, timed call by call.
 */
import { routingMethods, type RoutingMethod } from '../../src/control/function.schema.js';
import { decide } from '../../src/actors/router/decision.js';
import { prefixBlocks } from '../../src/actors/router/hash.js';
import { routingRequest, seededRandom, workerDescriptor, workerLoad } from '../../src/actors/router/router-test-support.js';
import { newRoutingState } from '../../src/actors/router/routing-request.js';
import { WorkerTable } from '../../src/actors/router/worker-table.js';
import { percentile } from './stats.js';

export interface DecisionTiming {
  workers: number;
  method: RoutingMethod;
  p50Us: number;
  p99Us: number;
}

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

export function timeDecisions(sizes: readonly number[], decisions: number): DecisionTiming[] {
  const out: DecisionTiming[] = [];
  for (const n of sizes) {
    for (const method of routingMethods) {
      const random = seededRandom(n * 31 + method.length);
      const table = tableOf(n, random);
      const state = newRoutingState(random);
      // 64 shared system prompts of ~3,000 characters, each already served by some worker.
      const prompts = Array.from({ length: 64 }, (_, p) => `system prompt ${p}: ${'lorem ipsum dolor sit amet '.repeat(110)}`);
      const workers = table.ofFunction('fn');
      prompts.forEach((p, i) => state.prefixes.insert((workers[i % workers.length] as (typeof workers)[number]).descriptor.workerId, prefixBlocks(p, 512)));
      const samples: number[] = [];
      for (let i = 0; i < decisions; i++) {
        const prompt = `${prompts[i % prompts.length] as string} user turn ${i}: ${'question text '.repeat(10)}`;
        const request = routingRequest({ requestId: `r${i}`, key: `session-${i % 500}`, tokens: 1_000, blocks: prefixBlocks(prompt, 512) });
        const t0 = performance.now();
        const { winner } = decide({ request, method, options: {}, workers: table.ofFunction('fn'), state, now: 0, cluster: 'local' });
        samples.push((performance.now() - t0) * 1000);
        if (winner) winner.dispatchedSinceReport = (winner.dispatchedSinceReport + 1) % 4;
      }
      samples.sort((a, b) => a - b);
      out.push({ workers: n, method, p50Us: percentile(samples, 50), p99Us: percentile(samples, 99) });
    }
  }
  return out;
}
