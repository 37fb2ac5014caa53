/** least-busy: the lowest in-flight relative to capacity (last report plus requests sent since); ties at random. */
import type { RoutingMethodFn } from '../routing-request.js';
import { lowestOf, scratchScores } from './min-score.js';

export const leastBusy: RoutingMethodFn = (candidates, { state, fleet, slots }) => {
  const { load, capacity } = fleet;
  const n = candidates.length;
  const scores = scratchScores(n);
  // utilization(), from the columns.
  for (let k = 0; k < n; k++) {
    const slot = slots[k] as number;
    scores[k] = (load[slot] as number) / (capacity[slot] as number);
  }
  return lowestOf(candidates, scores, state.random);
};
