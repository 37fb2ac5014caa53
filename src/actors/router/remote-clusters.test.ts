import { describe, expect, it } from 'vitest';
import { RemoteClusters } from './remote-clusters.js';
import type { ClusterSummary, SummaryEntry } from './summary.protocol.js';

const entry = (free: number, overrides: Partial<SummaryEntry> = {}): SummaryEntry => ({
  functionId: 'fn', versionId: 'v1', model: 'm', workers: 2, ready: 2, capacity: 16, inFlight: 16 - free, free, healthy: free > 0, ...overrides,
});
const summary = (cluster: string, at: number, entries: SummaryEntry[], routerId = `router-${cluster}`): ClusterSummary => ({
  type: 'summary', cluster, routerId, at, intervalMs: 1_000, entries,
});

describe('remote clusters - the latest summary of each', () => {
  it('sums a model over its versions, and leaves out its own cluster and other models', () => {
    const remotes = new RemoteClusters('a');
    expect(remotes.accept(summary('a', 0, [entry(5)]), 0)).toBe('own-cluster');
    remotes.accept(summary('b', 0, [entry(5), entry(3, { versionId: 'v2', workers: 1, ready: 1, capacity: 8, inFlight: 5 }), entry(9, { model: 'other' })]), 0);
    expect(remotes.candidates('fn', 'm', 100)).toEqual([{ cluster: 'b', workers: 3, ready: 3, capacity: 24, inFlight: 16, free: 8, ageMs: 100 }]);
    expect(remotes.candidates('fn', 'absent', 100)).toEqual([]);
  });

  it('keeps the newest by its sender\'s clock, unless the newest stopped coming', () => {
    const remotes = new RemoteClusters('a');
    remotes.accept(summary('b', 5_000, [entry(5)], 'router-b1'), 0);
    expect(remotes.accept(summary('b', 4_900, [entry(1)], 'router-b2'), 300)).toBe('older');
    expect(remotes.candidates('fn', 'm', 300)[0]?.free).toBe(5);
    // router-b1 went quiet for more than its interval: router-b2's summaries take over.
    expect(remotes.accept(summary('b', 5_900, [entry(1)], 'router-b2'), 1_100)).toBe('accepted');
    expect(remotes.candidates('fn', 'm', 1_100)[0]?.free).toBe(1);
  });

  it('drops a summary three intervals after it was received', () => {
    const remotes = new RemoteClusters('a');
    remotes.accept(summary('b', 0, [entry(5)]), 1_000);
    expect(remotes.candidates('fn', 'm', 4_000)).toHaveLength(1);
    expect(remotes.candidates('fn', 'm', 4_001)).toEqual([]);
    expect(remotes.sweep(4_001)).toEqual(['b']);
    expect(remotes.size).toBe(0);
  });

  it('counts its own spills against a cluster\'s free slots until the next summary', () => {
    const remotes = new RemoteClusters('a');
    remotes.accept(summary('b', 0, [entry(2)]), 0);
    remotes.noteSpill('b', 'fn', 'm');
    expect(remotes.candidates('fn', 'm', 0)[0]).toMatchObject({ free: 1, inFlight: 15 });
    remotes.noteSpill('b', 'fn', 'm');
    remotes.noteSpill('b', 'fn', 'm');
    expect(remotes.candidates('fn', 'm', 0)[0]?.free).toBe(0);
    remotes.accept(summary('b', 1_000, [entry(2)]), 1_000);
    expect(remotes.candidates('fn', 'm', 1_000)[0]?.free).toBe(2);
  });

  it('holds at most maxClusters clusters, making room only from expired ones', () => {
    const remotes = new RemoteClusters('a', 2);
    remotes.accept(summary('b', 0, [entry(1)]), 0);
    remotes.accept(summary('c', 0, [entry(1)]), 0);
    expect(remotes.accept(summary('d', 0, [entry(1)]), 10)).toBe('table-full');
    expect(remotes.accept(summary('b', 10, [entry(1)]), 10)).toBe('accepted');
    expect(remotes.accept(summary('d', 5_000, [entry(1)]), 5_000)).toBe('accepted');
    expect(remotes.size).toBe(1);
  });
});
