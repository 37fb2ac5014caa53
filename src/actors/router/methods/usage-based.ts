/**
 * usage-based: the lowest tokens per minute served (the worker's last report plus what was sent to it
 * since), as LiteLLM's usage-based routing. Workers whose per-minute limits the request would break
 * are already excluded (eligibility.ts).
 */
import type { RoutingMethodFn } from '../routing-request.js';
import { lowestOf, scratchScores } from './min-score.js';

export const usageBased: RoutingMethodFn = (candidates, { state, fleet, slots }) => {
  const { tokensPerMinuteUsed } = fleet;
  const n = candidates.length;
  const scores = scratchScores(n);
  // usedTokensPerMinute(), from the columns.
  for (let k = 0; k < n; k++) scores[k] = tokensPerMinuteUsed[slots[k] as number] as number;
  return lowestOf(candidates, scores, state.random);
};
