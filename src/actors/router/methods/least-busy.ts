/** least-busy: the lowest in-flight relative to capacity (last report plus requests sent since); ties at random. */
import type { RoutingMethodFn } from '../routing-request.js';
import { utilization } from '../worker-table.js';
import { lowestScore } from './min-score.js';

export const leastBusy: RoutingMethodFn = (candidates, { state }) => lowestScore(candidates, utilization, state.random);
