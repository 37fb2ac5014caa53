// Two routers active-active on one real nats-server: they share the request subject in a queue
// group and tell each other where they send each request, so least-busy stays balanced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { admin, chat } from './support/routing.js';
import { startTestStack } from './support/stack.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ workers: 4, routers: 2, sim: { itlMs: 5 } });
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
    for (let i = 0; i < 40; i++) {
      const { body } = await admin(stack, 'GET', `/admin/api/decisions/burst-${i}`);
      routers.add(body.decisions[0].routerId);
    }
    expect(routers).toEqual(new Set(stack.routers.map((r) => r.routerId)));
  });

  it('every router holds the whole worker table', async () => {
    const { body } = await admin(stack, 'GET', '/admin/api/workers');
    expect(body.routers).toEqual(stack.routers.map((r) => r.routerId).sort());
    expect(body.workers).toHaveLength(4);
    for (const r of stack.routers) expect(r.table.size).toBe(4);
  });
});
