/** W3C trace context: keep a valid incoming `traceparent`, else start a new trace. */
import { randomFillSync } from 'node:crypto';

/**
 * Random bytes from a pool filled 4 KiB at a time (as node's randomUUID does): two or three small
 * randomBytes calls per request showed in the gateway's profile (docs/benchmarks.md).
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

export function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function traceparentFor(incoming: string | undefined): string {
  if (incoming && TRACEPARENT.test(incoming) && !incoming.includes('-00000000000000000000000000000000-')) return incoming;
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is sane, else a fresh one. */
export function requestIdFor(incoming: string | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomHex(12);
}
