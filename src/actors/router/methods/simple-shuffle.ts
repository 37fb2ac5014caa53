/**
 * simple-shuffle: weighted random, as LiteLLM's default. A worker's weight is its `weight`, else
 * its capacity, so a worker twice the size gets twice the requests. Scores record each one's chance.
 */
import type { RoutingMethodFn } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';
import { scratchScores } from './min-score.js';

export const simpleShuffle: RoutingMethodFn = (candidates, { state, fleet, slots }) => {
  const n = candidates.length;
  if (n === 0) return undefined;
  const { weight } = fleet;
  let total = 0;
  for (let k = 0; k < n; k++) total += weight[slots[k] as number] as number;
  let point = state.random() * total;
  let winner = n - 1;
  for (let k = 0; k < n; k++) {
    point -= weight[slots[k] as number] as number;
    if (point < 0) {
      winner = k;
      break;
    }
  }
  const scores = scratchScores(n);
  for (let k = 0; k < n; k++) scores[k] = (weight[slots[k] as number] as number) / total;
  return { winner: candidates[winner] as WorkerEntry, scores };
};
