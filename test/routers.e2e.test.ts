// Two routers active-active on one real nats-server: they share the request subject in a queue
// group and tell each other where they send each request, so least-busy stays balanced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { admin, chat } from './support/routing.js';
import { startTestStack } from './support/stack.js';

/**
 * Every request streams for at least this long (its 20 tokens 400 ms apart at the simulator), so that none finishes while the burst is
 * still being dispatched: least-busy balances requests in flight, and only while all of them are in
 * flight is that the same as balancing the totals this test counts. (Without the hold, a loaded CI
 * machine spread the burst's arrivals over the requests' own lifetime, early ones finished, and the
 * totals came out 33 / 26 / 30 / 31 with the routers doing what they should. Routing the whole burst
 * takes ~2.2 s even on an idle machine here, so a short hold would not do.)
 */
const itlMs = 400;
const holdMs = 20 * itlMs;
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ workers: 4, routers: 2, sim: { itlMs } });
});
afterAll(async () => stack?.stop());

describe('two routers, active-active', () => {
  it('both route, and least-busy keeps four workers balanced under a burst', async () => {
    const before = stack.sims.map((s) => s.stats().requestsTotal);
    const burst = 120;
    const answers = await Promise.all(Array.from({ length: burst }, (_, i) =>
      chat(stack, { stream: true, max_tokens: 20 }, { 'x-request-id': `burst-${i}` })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const perWorker = stack.sims.map((s, i) => s.stats().requestsTotal - (before[i] as number));
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(burst);
    // Perfect balance is 30 each; two routers deciding concurrently may both pick the same worker now and then.
    console.log(`two routers, ${burst} concurrent requests over 4 workers: ${perWorker.join(' / ')}`);
    expect(Math.max(...perWorker) - Math.min(...perWorker)).toBeLessThanOrEqual(burst / 4 / 5);

    const routers = new Set<string>();
    const decidedAt: number[] = [];
    // A lookup gathers from every router for a moment (~300 ms): thirty at a time.
    for (let from = 0; from < burst; from += 30) {
      const records = await Promise.all(Array.from({ length: Math.min(30, burst - from) }, (_, k) => admin(stack, 'GET', `/admin/api/decisions/burst-${from + k}`)));
      for (const { body } of records) {
        routers.add(body.decisions[0].routerId);
        decidedAt.push(Date.parse(body.decisions[0].at));
      }
    }
    expect(routers).toEqual(new Set(stack.routers.map((r) => r.routerId)));
    // The premise of the balance above: the last request was routed before the first could finish.
    expect(Math.max(...decidedAt) - Math.min(...decidedAt), 'the burst took longer to route than a request is held').toBeLessThan(holdMs);
  });

  it('every router holds the whole worker table', async () => {
    const { body } = await admin(stack, 'GET', '/admin/api/workers');
    expect(body.routers).toEqual(stack.routers.map((r) => r.routerId).sort());
    expect(body.workers).toHaveLength(4);
    for (const r of stack.routers) expect(r.table.size).toBe(4);
  });
});
