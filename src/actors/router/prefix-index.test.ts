import { describe, expect, it } from 'vitest';
import { DecisionLog } from './decision-log.js';
import type { StoredDecision } from './decision.js';
import { PrefixIndex } from './prefix-index.js';

describe('prefix index', () => {
  it('counts the leading blocks each worker holds, stopping at the first it lacks', () => {
    const index = new PrefixIndex();
    index.insert('a', [1, 2, 3]);
    index.insert('b', [1, 9]);
    expect(index.matches([1, 2, 3, 4], ['a', 'b', 'c'])).toEqual([3, 1, 0]);
    expect(index.matches([5, 2, 3], ['a'])).toEqual([0]); // the first block differs: nothing after it counts
  });

  it('keeps each worker to its block budget, least recently used out first, and forgets a worker that left', () => {
    const index = new PrefixIndex(3);
    index.insert('a', [1, 2, 3]);
    index.insert('a', [1]); // refreshes 1
    index.insert('a', [7]); // evicts 2, the oldest
    expect(index.blocksOf('a')).toBe(3);
    expect(index.matches([1, 2], ['a'])).toEqual([1]);
    index.remove('a');
    expect(index.matches([1], ['a'])).toEqual([0]);
  });
});

describe('decision log', () => {
  const record = (requestId: string, candidates: number): StoredDecision => ({
    requestId, attempt: 1, routerId: 'r', at: 0, functionId: 'fn', model: 'm', method: 'least-busy', overridden: false,
    candidates: Array.from({ length: candidates }, (_, i) => ({ workerId: `w${i}`, cluster: 'local', inFlight: 0, capacity: 1 })),
    outcome: 'dispatched', decisionMicros: 1, cluster: 'local', locality: 'prefer',
  });

  it('keeps every attempt of a request, and drops the oldest requests beyond its bounds', () => {
    const log = new DecisionLog(2, 100);
    log.add(record('a', 1));
    log.add({ ...record('a', 1), attempt: 2 });
    log.add(record('b', 1));
    expect(log.get('a')?.map((r) => r.attempt)).toEqual([1, 2]);
    log.add(record('c', 1));
    expect(log.get('a')).toBeUndefined();
    log.add(record('d', 150)); // over the candidate budget: everything older goes
    expect(log.size).toBe(1);
    expect(log.get('d')).toBeDefined();
  });
});
