/**
 * latency-based: power of two choices over a peak-EWMA of time to first token (Finagle's and
 * Linkerd's balancer). Two distinct candidates are drawn at random and the one with the lower
 * cost = TTFT estimate × (in-flight + 1) wins. Peak-EWMA jumps to a slow sample at once and decays
 * towards fast ones, so a worker that turns slow is avoided quickly and tried again gradually; the
 * in-flight factor stops a fast worker from being flooded between reports. A worker with no TTFT
 * yet is costed at the mean of the others, so it is tried rather than starved or flooded.
 */
import type { RoutingMethodFn } from '../routing-request.js';
import { effectiveInFlight, type WorkerEntry } from '../worker-table.js';

export const latencyBased: RoutingMethodFn = (candidates, { state }) => {
  const n = candidates.length;
  if (n === 0) return undefined;
  const known = candidates.map((w) => w.load.ttftMs).filter((t): t is number => t !== undefined);
  const fallback = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const cost = (w: WorkerEntry): number => (w.load.ttftMs ?? fallback) * (effectiveInFlight(w) + 1);
  const a = Math.floor(state.random() * n);
  const b = n === 1 ? a : (a + 1 + Math.floor(state.random() * (n - 1))) % n;
  const wa = candidates[a] as WorkerEntry;
  const wb = candidates[b] as WorkerEntry;
  const scores: Array<number | undefined> = candidates.map(() => undefined);
  scores[a] = cost(wa);
  scores[b] = cost(wb);
  return { winner: cost(wb) < cost(wa) ? wb : wa, scores };
};
