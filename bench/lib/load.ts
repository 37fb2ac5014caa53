/**
 * A closed-loop HTTP load generator over an undici Pool: `concurrency` virtual clients, one
 * keep-alive connection each, send requests back to back until `requests` have been sent (or
 * `maxSeconds` have passed). Latency is measured per request from send to the last body byte;
 * time to first byte is taken when the response headers arrive.
 */
import { Pool } from 'undici';
import { percentile, summarize, type Summary } from './stats.js';

/** `concurrency` clients, each running `client` to its end, then the pool closed: the wall-clock seconds it took. */
export async function closedLoop(pool: Pool, concurrency: number, client: () => Promise<void>): Promise<number> {
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: concurrency }, client));
  } finally {
    await pool.close().catch(() => pool.destroy());
  }
  return (performance.now() - started) / 1000;
}

export interface LoadOptions {
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  url: string;
  path: string;
  /** POST when a body is given, GET otherwise. */
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  concurrency: number;
  requests: number;
  /** Stop sending new requests after this long (in-flight ones still finish). Default 30. */
  maxSeconds?: number;
  /** Per-request headers and body timeout. Default 10,000 ms. */
  timeoutMs?: number;
  /**
   * Checks each answer. When given, the body is read as text and passed in; when absent, the body
   * is drained and any 2xx status counts as success.
   */
  validate?: (status: number, body: string) => boolean;
}

export interface LoadResult {
  /** Requests completed (successful or not). */
  requests: number;
  ok: number;
  errors: number;
  /** The first error seen (a status, a failed validation or an exception), for diagnosis. */
  firstError?: string;
  statusCounts: Record<string, number>;
  seconds: number;
  /** Completed requests per second of wall time. */
  throughput: number;
  /** Send to last body byte, ms. */
  latency: Summary;
  /** Send to response headers, ms. */
  ttfb: Summary;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Every latency sample (ms, ascending), to pool percentiles over several runs. */
  latenciesMs: number[];
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pool = new Pool(options.url, {
    connections: options.concurrency,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers = { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
  const deadline = performance.now() + (options.maxSeconds ?? 30) * 1000;
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  const statusCounts: Record<string, number> = {};
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  const fail = (why: string): void => {
    errors++;
    firstError ??= why;
  };

  const client = async (): Promise<void> => {
    while (sent < options.requests && performance.now() < deadline) {
      sent++;
      const t0 = performance.now();
      try {
        const res = await pool.request({ method, path: options.path, body: options.body, headers });
        ttfbs.push(performance.now() - t0);
        const key = String(res.statusCode);
        statusCounts[key] = (statusCounts[key] ?? 0) + 1;
        if (options.validate) {
          const text = await res.body.text();
          if (!options.validate(res.statusCode, text)) fail(`invalid answer (status ${key}): ${text.slice(0, 200)}`);
        } else {
          for await (const _ of res.body) {
            /* drain to the last byte */
          }
          if (res.statusCode < 200 || res.statusCode > 299) fail(`status ${key}`);
        }
      } catch (error) {
        statusCounts.exception = (statusCounts.exception ?? 0) + 1;
        fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      latencies.push(performance.now() - t0);
    }
  };

  const seconds = await closedLoop(pool, options.concurrency, client);
  latencies.sort((a, b) => a - b);
  const latency = summarize(latencies);
  const result: LoadResult = {
    requests: latencies.length,
    ok: latencies.length - errors,
    errors,
    statusCounts,
    seconds,
    throughput: latencies.length / seconds,
    latency,
    ttfb: summarize(ttfbs),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanMs: latency.mean,
    latenciesMs: latencies,
  };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}

/**
 * The order in which to run `items` in round `round` (0-based): as given on even rounds, reversed
 * on odd ones (A B, B A, A B, …), so slow drift and "who ran first" affect every item alike.
 */
export function alternatingOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}
