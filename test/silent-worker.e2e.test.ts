// A worker that is registered and heartbeating but never accepts anything (frozen in its request
// handling, or hostile) must cost a request one accept timeout at most: the routers learn from the
// retry which worker the unanswered attempt went to, and skip it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import type { RegistryEvent, WorkerLoad } from '../src/actors/router/registry.protocol.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import type { Transport } from '../src/transport/transport.js';
import { admin, chat } from './support/routing.js';
import { startTestStack } from './support/stack.js';

let stack: LocalStack;
let silent: Transport;
let heartbeats: NodeJS.Timeout;
const silentId = 'worker-silent';

beforeAll(async () => {
  stack = await startTestStack({ workers: 1, heartbeatMs: 250, sessionLimits: { acceptTimeoutMs: 500, maxAttempts: 3 } });
  const { nkeySeed } = await stack.addWorkerIdentity(silentId);
  silent = await connectNats({ servers: stack.natsUrl, name: silentId, nkeySeed });
  // It takes requests off the bus and never answers them.
  silent.subscribe(subjects.workerInfer(silentId), () => undefined);
  const load: WorkerLoad = { inFlight: 0, state: 'active', healthy: true, outcomes: { ok: 0, failed: 0 }, usage: { tokensPerMinute: 0, requestsPerMinute: 0 } };
  const register: RegistryEvent = { type: 'heartbeat', worker: { ...stack.workers[0]!.descriptor, workerId: silentId }, load };
  heartbeats = setInterval(() => silent.publish(subjects.registry('local', silentId), register), 100);
  const started = Date.now();
  while (!stack.router.table.get(silentId) && Date.now() - started < 3_000) await new Promise((r) => setTimeout(r, 20));
  expect(stack.router.table.get(silentId)).toBeDefined();
});
afterAll(async () => {
  clearInterval(heartbeats);
  await silent?.close();
  await stack?.stop();
});

describe('a worker that never accepts', () => {
  it('is tried at most once per request: the retry skips it, and every request is answered', async () => {
    for (let i = 0; i < 6; i++) {
      const answer = await chat(stack, { max_tokens: 3 }, { 'x-request-id': `silent-${i}` });
      expect(answer.status).toBe(200);
      const { body } = await admin(stack, 'GET', `/admin/api/decisions/silent-${i}`);
      const winners = (body.decisions as Array<{ winner?: string }>).map((d) => d.winner);
      expect(winners.filter((w) => w === silentId).length, `request ${i}: ${winners.join(', ')}`).toBeLessThanOrEqual(1);
    }
  });
});
