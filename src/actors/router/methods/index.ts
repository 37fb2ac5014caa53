/** Every routing method by name (docs/routing.md describes each). */
import type { RoutingMethod, RoutingMethodFn } from '../routing-request.js';
import { costModel } from './cost-model.js';
import { kvAware } from './kv-aware.js';
import { latencyBased } from './latency-based.js';
import { leastBusy } from './least-busy.js';
import { prefixAware } from './prefix-aware.js';
import { roundRobin } from './round-robin.js';
import { sessionAffinity } from './session-affinity.js';
import { simpleShuffle } from './simple-shuffle.js';
import { usageBased } from './usage-based.js';

export const routingMethodFns: Record<RoutingMethod, RoutingMethodFn> = {
  'round-robin': roundRobin,
  'simple-shuffle': simpleShuffle,
  'least-busy': leastBusy,
  'usage-based': usageBased,
  'latency-based': latencyBased,
  'session-affinity': sessionAffinity,
  'prefix-aware': prefixAware,
  'kv-aware': kvAware,
  'cost-model': costModel,
};

/** Methods that use the prompt's prefix blocks (the gateway computes them only for these). */
export const prefixMethods: ReadonlySet<RoutingMethod> = new Set(['prefix-aware', 'kv-aware', 'cost-model']);
