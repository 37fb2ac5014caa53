import { describe, expect, it } from 'vitest';
import { decide } from './decision.js';
import { routingRequest, workerDescriptor, workerLoad } from './router-test-support.js';
import { newRoutingState, type RoutingRequest } from './routing-request.js';
import { WorkerTable } from './worker-table.js';

/** One local worker and two remote ones, all serving model `m`: decide() takes its path from the rows the writes keep. */
function fleet(local: { limits?: { requestsPerMinute: number }; failures?: number } = {}): WorkerTable {
  const table = new WorkerTable({ minFailures: 1, failureRatio: 0.5, cooldownMs: 10_000, maxCooldownMs: 10_000 });
  table.upsert(workerDescriptor('home', local.limits ? { limits: local.limits } : {}), workerLoad(), 0);
  if (local.failures) table.upsert(workerDescriptor('home', local.limits ? { limits: local.limits } : {}), workerLoad({ outcomes: { ok: 0, failed: local.failures } }), 1);
  table.upsert(workerDescriptor('away-1', { cluster: 'remote' }), workerLoad(), 0);
  table.upsert(workerDescriptor('away-2', { cluster: 'remote' }), workerLoad(), 0);
  table.fleet('fn');
  return table;
}

const route = (table: WorkerTable, request: RoutingRequest = routingRequest(), now = 2) =>
  decide({ request, method: 'least-busy', options: {}, fleet: table.fleet('fn'), state: newRoutingState(), now, cluster: 'local' });

describe('decide - the router\'s own cluster, when the request excludes its one eligible worker there', () => {
  it('prefers the local worker while it can take the request', () => {
    const { winner, candidates } = route(fleet());
    expect(winner?.descriptor.workerId).toBe('home');
    expect(candidates.summary()).toBe('3 worker(s): 1 eligible, 2 other-cluster');
  });

  it('hands the request to the other cluster when the local one already failed it', () => {
    const { winner, candidates } = route(fleet(), routingRequest({ exclude: ['home'] }));
    expect(winner?.descriptor.workerId).toMatch(/^away-/);
    expect(candidates.summary()).toBe('3 worker(s): 2 eligible, 1 failed-this-request');
  });

  it('hands it over when the local one is at its requests-per-minute limit', () => {
    const table = fleet({ limits: { requestsPerMinute: 1 } });
    table.routed('home', 0);
    const { winner, candidates } = route(table);
    expect(winner?.descriptor.workerId).toMatch(/^away-/);
    expect(candidates.summary()).toBe('3 worker(s): 2 eligible, 1 over-limit');
  });

  it('hands it over while the local one\'s circuit is open, and takes it back once the cooldown is over', () => {
    const table = fleet({ failures: 1 });
    const open = route(table);
    expect(open.winner?.descriptor.workerId).toMatch(/^away-/);
    expect(open.candidates.summary()).toBe('3 worker(s): 2 eligible, 1 circuit-open');
    const probe = route(table, routingRequest(), 20_000);
    expect(probe.winner?.descriptor.workerId).toBe('home');
  });
});
