/**
 * A closed-loop streaming load: `concurrency` clients, one keep-alive connection each, send
 * streaming chat requests back to back for `seconds`. Each answer's SSE events are split as they
 * arrive; an event with non-empty `content` is a token, stamped with the arrival time of the bytes
 * that completed it. Reports tokens relayed per second of wall time and the gaps between a
 * request's successive tokens (the first token's wait is not a gap).
 */
import { Pool } from 'undici';
import { closedLoop } from './load.js';
import { percentile } from './stats.js';

export interface StreamLoadOptions {
  url: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
  concurrency: number;
  seconds: number;
  /** Tokens each answer must carry to count as complete. */
  tokens: number;
  timeoutMs?: number;
}

export interface StreamLoadResult {
  requests: number;
  /** Answers that failed or carried fewer than `tokens` tokens. */
  errors: number;
  firstError?: string;
  seconds: number;
  throughput: number;
  tokensPerSecond: number;
  tokens: number;
  /** Every inter-token gap (ms, ascending). */
  gapsMs: number[];
  gapP50Ms: number;
  gapP99Ms: number;
  /** Send to last byte, ms. */
  p50Ms: number;
  p99Ms: number;
}

const token = /"content":"[^"]/;

/** Counts the token events in `text` (complete events only); returns the count and the unfinished tail. */
export function countTokens(text: string): { count: number; rest: string } {
  let count = 0;
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n\n', start);
    if (end < 0) break;
    if (token.test(text.slice(start, end))) count++;
    start = end + 2;
  }
  return { count, rest: text.slice(start) };
}

export async function runStreamLoad(o: StreamLoadOptions): Promise<StreamLoadResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const pool = new Pool(o.url, { connections: o.concurrency, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const headers = { 'content-type': 'application/json', ...o.headers };
  const deadline = performance.now() + o.seconds * 1000;
  const gaps: number[] = [];
  const latencies: number[] = [];
  let tokens = 0;
  let errors = 0;
  let firstError: string | undefined;
  const fail = (why: string): void => {
    errors++;
    firstError ??= why;
  };

  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      let got = 0;
      try {
        const res = await pool.request({ method: 'POST', path: o.path, body: o.body, headers });
        let buffer = '';
        let last = NaN;
        for await (const chunk of res.body) {
          const at = performance.now();
          const { count, rest } = countTokens(buffer + (chunk as Buffer).toString('utf8'));
          buffer = rest;
          for (let i = 0; i < count; i++) {
            if (got > 0) gaps.push(i === 0 ? at - last : 0);
            got++;
          }
          if (count > 0) last = at;
        }
        tokens += got;
        if (res.statusCode !== 200) fail(`status ${res.statusCode}: ${buffer.slice(0, 200)}`);
        else if (got < o.tokens) fail(`${got} of ${o.tokens} tokens`);
      } catch (error) {
        fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      latencies.push(performance.now() - t0);
    }
  };

  const seconds = await closedLoop(pool, o.concurrency, client);
  gaps.sort((a, b) => a - b);
  latencies.sort((a, b) => a - b);
  const result: StreamLoadResult = {
    requests: latencies.length, errors, seconds, throughput: latencies.length / seconds,
    tokensPerSecond: tokens / seconds, tokens, gapsMs: gaps,
    gapP50Ms: percentile(gaps, 50), gapP99Ms: percentile(gaps, 99),
    p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99),
  };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}
