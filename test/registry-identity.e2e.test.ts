// A stolen worker credential must not act as another worker: with a real worker nkey identity on a
// real nats-server, everything a worker can publish (its own registry subject) is tried against the
// routers. Only what speaks for that same worker, within sane bounds, is believed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import type { RegistryEvent, WorkerDescriptor, WorkerLoad } from '../src/actors/router/registry.protocol.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import type { Transport } from '../src/transport/transport.js';
import { startTestStack, waitFor } from './support/stack.js';

let stack: LocalStack;
let thief: Transport;
const thiefId = 'worker-thief';

beforeAll(async () => {
  stack = await startTestStack({ workers: 2, heartbeatMs: 250 });
  const { nkeySeed } = await stack.addWorkerIdentity(thiefId);
  thief = await connectNats({ servers: stack.natsUrl, name: thiefId, nkeySeed });
});
afterAll(async () => {
  await thief?.close();
  await stack?.stop();
});

const load: WorkerLoad = { inFlight: 0, state: 'active', healthy: true, outcomes: { ok: 0, failed: 0 }, usage: { tokensPerMinute: 0, requestsPerMinute: 0 } };
/**
 * Publishes `event` on the thief's own subject, then watches the router's table every few ms for a
 * heartbeat interval and more (the victim's own heartbeats would soon undo a forgery that took
 * effect, so only a close watch sees it): returns whether `forged` was ever true.
 */
const publish = async (event: RegistryEvent, forged: () => boolean = () => false): Promise<boolean> => {
  thief.publish(subjects.registry('local', thiefId), event);
  await thief.flush();
  let seen = false;
  for (const until = Date.now() + 400; Date.now() < until;) {
    seen ||= forged();
    await new Promise((r) => setTimeout(r, 2));
  }
  return seen;
};

describe('registry - a worker credential speaks only for its own worker', () => {
  it('ignores a deregistration, and a heartbeat, for another worker sent on the thief\'s own subject', async () => {
    const victim = stack.workers[0]!.descriptor;
    const entry = () => stack.router.table.get(victim.workerId);
    expect(await publish({ type: 'deregister', workerId: victim.workerId, reason: 'forged' }, () => entry() === undefined), 'the victim left the table').toBe(false);
    expect(await publish({ type: 'heartbeat', worker: victim, load: { ...load, state: 'draining', healthy: false } },
      () => entry()?.load.state !== 'active' || entry()?.load.healthy !== true), 'the victim looked draining or unhealthy').toBe(false);
  });

  it('refuses a registration naming another cluster than its subject\'s, and NATS refuses the other cluster\'s subject', async () => {
    const elsewhere: WorkerDescriptor = { ...stack.workers[0]!.descriptor, workerId: thiefId, cluster: 'elsewhere', heartbeatMs: 250 };
    expect(await publish({ type: 'register', worker: elsewhere, load }, () => stack.router.table.get(thiefId) !== undefined), 'the thief joined').toBe(false);
    thief.publish(subjects.registry('elsewhere', thiefId), { type: 'register', worker: elsewhere, load });
    await thief.flush();
    await waitFor(() => thief.refusals().some((r) => r.includes(subjects.registry('elsewhere', thiefId))), 2_000);
  });

  it('refuses a phantom registration with a heartbeat interval of years, and believes a sane one', async () => {
    const phantom: WorkerDescriptor = { ...stack.workers[0]!.descriptor, workerId: thiefId, heartbeatMs: 1e12 };
    await publish({ type: 'register', worker: phantom, load });
    expect(stack.router.table.get(thiefId)).toBeUndefined();
    await publish({ type: 'register', worker: { ...phantom, heartbeatMs: 250 }, load });
    expect(stack.router.table.get(thiefId)).toBeDefined();
    // And it goes away like any worker whose heartbeats stop.
    await waitFor(() => stack.router.table.get(thiefId) === undefined, 2_000);
  });
});
