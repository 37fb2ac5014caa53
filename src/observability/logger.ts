/** pino JSON logs to stderr; one child logger per role, request ids added per line by callers. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(role: string, level = process.env.LLMUX_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { role }, redact: ['apiKey', 'authorization', '*.apiKey', '*.authorization'] }, pino.destination(2));
}

/** A logger that drops everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
