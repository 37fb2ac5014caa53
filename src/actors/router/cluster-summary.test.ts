import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../control/function.schema.js';
import { summarizeWorkers } from './cluster-summary.js';
import { workerDescriptor, workerLoad } from './router-test-support.js';
import { parseClusterSummary } from './summary.protocol.js';
import { WorkerTable } from './worker-table.js';

describe('cluster summary - built from the worker table', () => {
  it('counts every worker, and capacity, in-flight and free slots over the ready ones only', () => {
    const table = new WorkerTable({ minFailures: 1, failureRatio: 0.5, cooldownMs: 10_000, maxCooldownMs: 10_000 });
    table.upsert(workerDescriptor('a', { capacity: 8 }), workerLoad({ inFlight: 3 }), 0);
    table.upsert(workerDescriptor('b', { capacity: 4 }), workerLoad({ inFlight: 9 }), 0); // over capacity: no free slot
    table.upsert(workerDescriptor('c'), workerLoad({ state: 'draining' }), 0);
    table.upsert(workerDescriptor('d'), workerLoad({ healthy: false }), 0);
    table.upsert(workerDescriptor('e'), workerLoad(), 0);
    table.upsert(workerDescriptor('e'), workerLoad({ outcomes: { ok: 0, failed: 5 } }), 1); // its circuit opens
    table.upsert(workerDescriptor('f', { model: 'other', capacity: 2 }), workerLoad(), 0);
    table.upsert(workerDescriptor('g', { versionId: 'v2', capacity: 2 }), workerLoad({ inFlight: 1 }), 0);
    const { entries, truncated } = summarizeWorkers(table.all(), () => undefined, 2);
    expect(truncated).toBe(false);
    expect(entries).toEqual([
      { functionId: 'fn', versionId: 'v1', model: 'm', workers: 5, ready: 2, capacity: 12, inFlight: 12, free: 5, healthy: true },
      { functionId: 'fn', versionId: 'v2', model: 'm', workers: 1, ready: 1, capacity: 2, inFlight: 1, free: 1, healthy: true },
      { functionId: 'fn', versionId: 'v1', model: 'other', workers: 1, ready: 1, capacity: 2, inFlight: 0, free: 2, healthy: true },
    ]);
  });

  it('counts as ready only deployed workers once the function has deployments', () => {
    const table = new WorkerTable();
    table.upsert(workerDescriptor('a', { versionId: 'v1' }), workerLoad(), 0);
    table.upsert(workerDescriptor('b', { versionId: 'v2', labels: { gpu: 'l4' } }), workerLoad(), 0);
    const deployments = new Map<string, Deployment>([['v2', { deployedAt: '', labels: { gpu: 'h100' } }]]);
    const { entries } = summarizeWorkers(table.all(), () => deployments, 0);
    expect(entries.map((e) => [e.versionId, e.workers, e.ready, e.healthy])).toEqual([['v1', 1, 0, false], ['v2', 1, 0, false]]);
  });

  it('stays within what a reader accepts whatever a worker claims, and says when it left models out', () => {
    const table = new WorkerTable();
    table.upsert(workerDescriptor('liar', { capacity: 8 }), workerLoad({ inFlight: 1e300 }), 0);
    table.upsert(workerDescriptor('negative', { capacity: 8, model: 'n' }), workerLoad({ inFlight: -1e9 }), 0);
    const { entries } = summarizeWorkers(table.all(), () => undefined, 0);
    expect(parseClusterSummary({ type: 'summary', cluster: 'a', routerId: 'r', at: 0, intervalMs: 1000, entries })).toBeDefined();
    expect(entries.find((e) => e.model === 'n')).toMatchObject({ inFlight: 0, free: 8 });
    for (let i = 0; i < 5; i++) table.upsert(workerDescriptor(`w${i}`, { model: `m${i}` }), workerLoad(), 0);
    const cut = summarizeWorkers(table.all(), () => undefined, 0, 3);
    expect(cut.entries).toHaveLength(3);
    expect(cut.truncated).toBe(true);
  });
});
