/**
 * Routing methods: pure choices over eligible workers. Each returns one of the candidates (never
 * anything else) or undefined when there are none.
 */
import type { RoutingMethod } from '../control/function.schema.js';
import { effectiveInFlight, type WorkerEntry } from './worker-table.js';

export interface RoutingState {
  /** Round-robin position per routing key. */
  cursors: Map<string, number>;
  random: () => number;
}

export function newRoutingState(random: () => number = Math.random): RoutingState {
  return { cursors: new Map(), random };
}

/** Lowest in-flight relative to capacity; ties broken at random so equal workers share load. */
export function leastBusy(candidates: readonly WorkerEntry[], state: RoutingState): WorkerEntry | undefined {
  let best: WorkerEntry[] = [];
  let bestScore = Infinity;
  for (const w of candidates) {
    const score = effectiveInFlight(w) / w.descriptor.capacity;
    if (score < bestScore) {
      bestScore = score;
      best = [w];
    } else if (score === bestScore) {
      best.push(w);
    }
  }
  return best[Math.floor(state.random() * best.length)];
}

export function roundRobin(candidates: readonly WorkerEntry[], state: RoutingState, key: string): WorkerEntry | undefined {
  if (candidates.length === 0) return undefined;
  const cursor = state.cursors.get(key) ?? 0;
  state.cursors.set(key, (cursor + 1) % Number.MAX_SAFE_INTEGER);
  return candidates[cursor % candidates.length];
}

export function pickWorker(method: RoutingMethod, candidates: readonly WorkerEntry[], state: RoutingState, key: string): WorkerEntry | undefined {
  switch (method) {
    case 'least-busy':
      return leastBusy(candidates, state);
    case 'round-robin':
      return roundRobin(candidates, state, key);
  }
}
