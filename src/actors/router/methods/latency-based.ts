/**
 * latency-based: power of two choices over a peak-EWMA of time to first token (Finagle's and
 * Linkerd's balancer). Two distinct candidates are drawn at random and the one with the lower
 * cost = TTFT estimate × (in-flight + 1) wins. Peak-EWMA jumps to a slow sample at once and decays
 * towards fast ones, so a worker that turns slow is avoided quickly and tried again gradually; the
 * in-flight factor stops a fast worker from being flooded between reports. A worker with no TTFT
 * yet is costed at the mean of the others, so it is tried rather than starved or flooded.
 */
import type { RoutingMethodFn } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';
import { scratchScores } from './min-score.js';

export const latencyBased: RoutingMethodFn = (candidates, { state, fleet, slots }) => {
  const n = candidates.length;
  if (n === 0) return undefined;
  const { ttftMs, load } = fleet;
  let sum = 0;
  let known = 0;
  for (let k = 0; k < n; k++) {
    const t = ttftMs[slots[k] as number] as number;
    if (!Number.isNaN(t)) {
      sum += t;
      known++;
    }
  }
  const fallback = known > 0 ? sum / known : 1;
  const cost = (k: number): number => {
    const slot = slots[k] as number;
    const t = ttftMs[slot] as number;
    return (Number.isNaN(t) ? fallback : t) * ((load[slot] as number) + 1);
  };
  const a = Math.floor(state.random() * n);
  const b = n === 1 ? a : (a + 1 + Math.floor(state.random() * (n - 1))) % n;
  // NaN: not scored (only the two drawn are).
  const scores = scratchScores(n).fill(NaN);
  scores[a] = cost(a);
  scores[b] = cost(b);
  return { winner: (cost(b) < cost(a) ? candidates[b] : candidates[a]) as WorkerEntry, scores };
};
