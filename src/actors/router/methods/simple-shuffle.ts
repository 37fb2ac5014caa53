/**
 * simple-shuffle: weighted random, as LiteLLM's default. A worker's weight is its `weight`, else
 * its capacity, so a worker twice the size gets twice the requests. Scores record each one's chance.
 */
import type { RoutingMethodFn } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';

const weightOf = (w: WorkerEntry): number => w.descriptor.weight ?? w.descriptor.capacity;

export const simpleShuffle: RoutingMethodFn = (candidates, { state }) => {
  if (candidates.length === 0) return undefined;
  const total = candidates.reduce((sum, w) => sum + weightOf(w), 0);
  let point = state.random() * total;
  let winner = candidates[candidates.length - 1] as WorkerEntry;
  for (const w of candidates) {
    point -= weightOf(w);
    if (point < 0) {
      winner = w;
      break;
    }
  }
  return { winner, scores: candidates.map((w) => weightOf(w) / total) };
};
