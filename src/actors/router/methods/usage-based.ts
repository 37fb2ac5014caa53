/**
 * usage-based: the lowest tokens per minute served (the worker's last report plus what was sent to it
 * since), as LiteLLM's usage-based routing. Workers whose per-minute limits the request would break
 * are already excluded (eligibility.ts).
 */
import type { RoutingMethodFn } from '../routing-request.js';
import { lowestScore } from './min-score.js';

export const usageBased: RoutingMethodFn = (candidates, { state, fleet, slots }) =>
  // usedTokensPerMinute(), from the columns.
  lowestScore(candidates, (_, k) => fleet.tokensPerMinuteUsed[slots[k] as number] as number, state.random);
