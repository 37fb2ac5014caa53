/** The routing methods' names (docs/routing.md), with no dependencies: the CLI imports this at startup. */
export const routingMethods = [
  'round-robin', 'simple-shuffle', 'least-busy', 'usage-based', 'latency-based', 'session-affinity', 'prefix-aware', 'kv-aware', 'cost-model',
] as const;
export type RoutingMethod = (typeof routingMethods)[number];
/**
 * The method of a model whose llmConfig names none: cost-model, measured closest to the best method
 * on every shape of the routing lab (docs/decisions/0004-default-routing-method.md).
 */
export const defaultRoutingMethod: RoutingMethod = 'cost-model';
