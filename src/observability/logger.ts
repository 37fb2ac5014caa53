/** pino JSON logs to stderr; one child logger per role, request ids added per line by callers. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(role: string, level = process.env.LLMUX_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { role }, redact: ['apiKey', 'authorization', '*.apiKey', '*.authorization'] }, pino.destination(2));
}

/**
 * The fields every log line about one request carries, on every role: its request id, and the
 * trace and span its W3C `traceparent` names (the hop that sent it), so a line leads to its trace.
 */
export function requestLogFields(requestId: string, traceparent: string | undefined): { request_id: string; trace_id?: string; span_id?: string } {
  const [, traceId, spanId] = traceparent?.split('-') ?? [];
  return { request_id: requestId, ...(traceId && spanId ? { trace_id: traceId, span_id: spanId } : {}) };
}

/** A logger that drops everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
