import { describe, expect, it } from 'vitest';
import { decide } from './decision.js';
import { chooseRoute, type LocalView, localView, type RemoteCandidate } from './locality.js';
import { routingRequest, workerDescriptor, workerLoad } from './router-test-support.js';
import { newRoutingState } from './routing-request.js';
import { WorkerTable } from './worker-table.js';

const remote = (cluster: string, free: number): RemoteCandidate => ({ cluster, workers: 2, ready: 2, capacity: 16, inFlight: 16 - free, free, ageMs: 0 });
const view = (overrides: Partial<LocalView> = {}): LocalView => ({
  serving: 0, eligible: 0, available: 0, free: 0, saturated: 0, unhealthy: 0, draining: 0, failed: 0, ...overrides,
});

describe('locality - which cluster serves', () => {
  it('counts the local workers of a decision by what they can do, at the spill threshold', () => {
    const table = new WorkerTable();
    table.upsert(workerDescriptor('idle', { capacity: 10 }), workerLoad({ inFlight: 2 }), 0);
    table.upsert(workerDescriptor('busy', { capacity: 10 }), workerLoad({ inFlight: 8 }), 0);
    table.upsert(workerDescriptor('full', { capacity: 2 }), workerLoad({ inFlight: 2 }), 0);
    table.upsert(workerDescriptor('draining'), workerLoad({ state: 'draining' }), 0);
    table.upsert(workerDescriptor('sick'), workerLoad({ healthy: false }), 0);
    table.upsert(workerDescriptor('failed'), workerLoad(), 0);
    table.upsert(workerDescriptor('other-model', { model: 'x' }), workerLoad(), 0);
    table.upsert(workerDescriptor('remote', { cluster: 'b' }), workerLoad(), 0);
    const { candidates } = decide({ request: routingRequest({ exclude: ['failed'] }), method: 'least-busy', options: {}, fleet: table.fleet('fn'), state: newRoutingState(), now: 0, cluster: 'local' });
    expect(localView(candidates, 'local', 0.5)).toEqual({ serving: 6, eligible: 2, available: 1, free: 10, saturated: 2, unhealthy: 1, draining: 1, failed: 1 });
    expect(localView(candidates, 'local', 0.1).available).toBe(0);
  });

  it('strict, and a request spilled here, never leave the cluster', () => {
    expect(chooseRoute({ mode: 'strict', local: view(), remotes: () => [remote('b', 10)] }).choice).toEqual({ type: 'local' });
    expect(chooseRoute({ mode: 'any', spilledFrom: 'b', local: view(), remotes: () => [remote('c', 10)] }).choice).toEqual({ type: 'local' });
  });

  it('prefer stays while a local worker is available, without looking at the other clusters', () => {
    let asked = false;
    const decision = chooseRoute({ mode: 'prefer', local: view({ serving: 1, eligible: 1, available: 1, free: 1 }), remotes: () => (asked = true, [remote('b', 10)]) });
    expect(decision).toEqual({ choice: { type: 'local' } });
    expect(asked).toBe(false);
  });

  it('prefer spills to the cluster with the most free slots, naming why', () => {
    const remotes = () => [remote('b', 3), remote('c', 7), remote('d', 7)];
    const spill = (local: LocalView) => chooseRoute({ mode: 'prefer', local, remotes }).choice;
    expect(spill(view())).toEqual({ type: 'spill', cluster: 'c', reason: 'local-absent' });
    expect(spill(view({ serving: 2, eligible: 2, saturated: 2, free: 2 }))).toMatchObject({ reason: 'local-saturated' });
    expect(spill(view({ serving: 2, unhealthy: 2 }))).toMatchObject({ reason: 'local-unhealthy' });
    expect(spill(view({ serving: 3, draining: 2, unhealthy: 1 }))).toMatchObject({ reason: 'local-draining' });
    expect(spill(view({ serving: 1, failed: 1 }))).toMatchObject({ reason: 'local-failed' });
    // Nowhere with room: it stays, and the local decision answers (a worker above the threshold, or 503).
    expect(chooseRoute({ mode: 'prefer', local: view(), remotes: () => [remote('b', 0)] })).toEqual({ choice: { type: 'local' }, remotes: [remote('b', 0)] });
  });

  it('any goes where most slots are free, and stays on a tie', () => {
    const local = view({ serving: 1, eligible: 1, available: 1, free: 5 });
    expect(chooseRoute({ mode: 'any', local, remotes: () => [remote('b', 6)] }).choice).toEqual({ type: 'spill', cluster: 'b', reason: 'any-most-free' });
    expect(chooseRoute({ mode: 'any', local, remotes: () => [remote('b', 5)] }).choice).toEqual({ type: 'local' });
  });
});
