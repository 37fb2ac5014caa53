/** Header names carried on NATS messages (request id, deadline, W3C trace context). */
export const headerNames = {
  requestId: 'llmux-request-id',
  deadline: 'llmux-deadline',
  traceparent: 'traceparent',
} as const;
