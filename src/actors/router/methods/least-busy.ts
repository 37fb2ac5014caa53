/** least-busy: the lowest in-flight relative to capacity (last report plus requests sent since); ties at random. */
import type { RoutingMethodFn } from '../routing-request.js';
import { lowestScore } from './min-score.js';

export const leastBusy: RoutingMethodFn = (candidates, { state, fleet, slots }) => {
  const { reportedInFlight, dispatched, capacity } = fleet;
  // utilization(), from the columns.
  return lowestScore(candidates, (_, k) => {
    const slot = slots[k] as number;
    return ((reportedInFlight[slot] as number) + (dispatched[slot] as number)) / (capacity[slot] as number);
  }, state.random);
};
