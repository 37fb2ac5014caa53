/** Header names carried on NATS messages (request id, deadline, W3C trace context, the router's method). */
export const headerNames = {
  requestId: 'llmux-request-id',
  deadline: 'llmux-deadline',
  traceparent: 'traceparent',
  routingMethod: 'llmux-routing-method',
  prefillTokens: 'llmux-prefill-tokens',
  /** Hop timestamps of a timed request (bench:latency only; src/observability/hop-timing.ts). */
  hops: 'llmux-hops',
} as const;
