/**
 * An open-loop load at a fixed rate, interleaved over several targets: each target gets `rate`
 * requests per second, the targets' sends offset by a fraction of the period (A B A B …), so
 * machine noise hits every target alike. A request's latency runs from its send to its last body
 * byte; the send and receive are also kept on the clock the servers' hop stamps use (hopNow:
 * process.hrtime, shared by the processes of one machine).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { hopNow } from '../../src/observability/hop-timing.js';

export interface LatencyTarget {
  name: string;
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  url: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
}

export interface Sample {
  target: string;
  requestId: string;
  /** On hopNow's clock (ms). */
  sentAt: number;
  receivedAt: number;
  ms: number;
  status: number;
  error?: string;
}

export interface FixedRateResult {
  samples: Sample[];
  /** How late the scheduler sent, at worst (ms): large values mean the client could not keep the rate. */
  maxLagMs: number;
  seconds: number;
}


/** Sends `rate` req/s to each target for `seconds`, interleaved; resolves when every answer is in (10 s bound each). */
export async function runFixedRate(targets: readonly LatencyTarget[], options: { rate: number; seconds: number; idPrefix: string; connections?: number }): Promise<FixedRateResult> {
  const pools = targets.map((t) => new Pool(t.url, { connections: options.connections ?? 64, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 }));
  const samples: Sample[] = [];
  const inflight: Promise<void>[] = [];
  const periodMs = 1000 / options.rate;
  const perTick = periodMs / targets.length;
  const total = Math.floor(options.rate * options.seconds) * targets.length;
  let maxLagMs = 0;

  const one = async (i: number): Promise<void> => {
    const target = targets[i % targets.length] as LatencyTarget;
    const pool = pools[i % targets.length] as Pool;
    const requestId = `${options.idPrefix}-${i}`;
    const sentAt = hopNow();
    let status = 0;
    let error: string | undefined;
    try {
      const res = await pool.request({ method: 'POST', path: target.path, body: target.body,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...target.headers } });
      status = res.statusCode;
      await res.body.text();
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const receivedAt = hopNow();
    samples.push({ target: target.name, requestId, sentAt, receivedAt, ms: receivedAt - sentAt, status, ...(error ? { error } : {}) });
  };

  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + i * perTick;
    const wait = due - performance.now();
    // Timers round to a millisecond: a send may go up to ~1 ms late (measured from when it went, and reported).
    if (wait > 0) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    inflight.push(one(i));
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  return { samples, maxLagMs, seconds };
}
