import { describe, expect, it } from 'vitest';
import { everyWorkerContext } from './decision.js';
import { kvAware } from './methods/kv-aware.js';
import { routingRequest, seededRandom, workerDescriptor, workerLoad } from './router-test-support.js';
import { newRoutingState } from './routing-request.js';
import { WorkerTable } from './worker-table.js';

describe('router - kv-aware', () => {
  it('weighs the in-flight counts of the load events since the last heartbeat, not the heartbeat\'s KV usage', () => {
    const table = new WorkerTable();
    // At the last heartbeat w0's engine looked idle and w1's half full.
    table.upsert(workerDescriptor('w0', { capacity: 32 }), workerLoad({ engine: { kvCacheUsage: 0.1, waiting: 0 } }), 0);
    table.upsert(workerDescriptor('w1', { capacity: 32 }), workerLoad({ engine: { kvCacheUsage: 0.5, waiting: 0 } }), 0);
    // Since then, load events: w0 took 20 requests, w1 finished all but 2.
    table.updateInFlight('w0', 20, 10);
    table.updateInFlight('w1', 2, 10);
    const fleet = table.fleet('fn');
    const pick = kvAware(fleet.entries, everyWorkerContext(fleet, routingRequest(), newRoutingState(seededRandom(1))));
    expect(pick?.winner.descriptor.workerId).toBe('w1');
  });

  it('adds the engine\'s own queue to the in-flight count', () => {
    const table = new WorkerTable();
    // w0's KV cache looks empty, but 6 of its 8 requests wait in the engine's queue.
    table.upsert(workerDescriptor('w0', { capacity: 32 }), workerLoad({ inFlight: 8, engine: { kvCacheUsage: 0, waiting: 6 } }), 0);
    table.upsert(workerDescriptor('w1', { capacity: 32 }), workerLoad({ inFlight: 10, engine: { kvCacheUsage: 0.3, waiting: 0 } }), 0);
    const fleet = table.fleet('fn');
    const pick = kvAware(fleet.entries, everyWorkerContext(fleet, routingRequest(), newRoutingState(seededRandom(1))));
    expect(pick?.winner.descriptor.workerId).toBe('w1');
    expect(Array.from(pick?.scores ?? [])).toEqual([1 + 2 * (14 / 32), 1 + 2 * (10 / 32)]);
  });
});
