/** round-robin: each function/model walks its eligible workers in worker-id order. */
import type { RoutingMethodFn } from '../routing-request.js';

export const roundRobin: RoutingMethodFn = (candidates, { request, state }) => {
  if (candidates.length === 0) return undefined;
  const key = `${request.functionId}/${request.model}`;
  const cursor = state.cursors.get(key) ?? 0;
  state.cursors.set(key, (cursor + 1) % Number.MAX_SAFE_INTEGER);
  const winner = candidates[cursor % candidates.length];
  return winner ? { winner } : undefined;
};
