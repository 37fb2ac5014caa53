/** The routing methods' names (docs/routing.md), with no dependencies: the CLI imports this at startup. */
export const routingMethods = [
  'round-robin', 'simple-shuffle', 'least-busy', 'usage-based', 'latency-based', 'session-affinity', 'prefix-aware', 'kv-aware', 'cost-model',
] as const;
export type RoutingMethod = (typeof routingMethods)[number];
/**
 * The method of a model whose llmConfig names none. The lab measured cost-model closest to the best
 * on every shape, but with it as the default nine end-to-end tests failed (rate limits, embeddings,
 * a troubleshooting example), not yet looked into: docs/decisions/0004-default-routing-method.md.
 */
export const defaultRoutingMethod: RoutingMethod = 'least-busy';
