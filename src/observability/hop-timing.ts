/**
 * Hop timing, for `npm run bench:latency` only: timestamps taken at the boundaries of a request's
 * hops (HTTP in, counting, admission, gateway → router → worker → engine → back, render), written
 * as one NDJSON line per request. Off unless the gateway's process has `LLMUX_HOP_TIMING=<file>`
 * (read once, at load); off, every hook is one boolean test.
 *
 * The gateway keeps its own stamps beside the response. Routers and workers stamp only a message
 * that carries the `llmux-hops` header (the gateway sets it on a timed request), append theirs to
 * it, and the worker sends the chain back on its `end` frame. Every stamp is milliseconds of
 * `process.hrtime` (the system's monotonic clock, since boot on Linux): sub-millisecond, and
 * the same clock in every process of one machine. (`performance.timeOrigin + now()` is not: each
 * process reads its origin once, and two processes disagreed by tenths of a millisecond.)
 */
import { appendFileSync } from 'node:fs';

/** Milliseconds of the machine's monotonic clock, shared by its processes (nanosecond resolution). */
export const hopNow = (): number => Number(process.hrtime.bigint()) / 1e6;

const file = process.env.LLMUX_HOP_TIMING;
/** Whether this process's gateway times requests (set once, at load). */
export const hopTimingOn = file !== undefined && file !== '';

/** Appends one stamp (`name=ms`) to a hops header value. */
export function stampHop(hops: string | undefined, name: string): string {
  const stamp = `${name}=${hopNow().toFixed(3)}`;
  return hops ? `${hops};${stamp}` : stamp;
}

/** A stamp's name: a role letter, a dot, a word (`r.in`, `w.engine`). */
const stampName = /^[a-z]\.[a-z-]{1,16}$/;

/** Parses a hops header value into name → ms; malformed stamps (and more than 32) are skipped. */
export function parseHops(hops: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (hops ?? '').split(';', 32)) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    const at = Number(part.slice(eq + 1));
    if (eq > 0 && stampName.test(name) && Number.isFinite(at)) out[name] = at;
  }
  return out;
}

/** One timed request as written: its id and every stamp, gateway's and downstream's. */
export interface HopRecord {
  requestId: string;
  stamps: Record<string, number>;
}

interface Open {
  requestId: string;
  stamps: Record<string, number>;
}

/** Keyed by the response object: a client may reuse a request id. */
const open = new WeakMap<object, Open>();
let pending: string[] = [];

const flush = (): void => {
  if (pending.length === 0 || !file) return;
  const lines = pending.join('');
  pending = [];
  appendFileSync(file, lines);
};

if (hopTimingOn) {
  // Written in batches off the request path; what is left goes out when the process exits.
  setInterval(flush, 200).unref();
  process.once('exit', flush);
}

/** Starts the record of a request (the gateway, on arrival). */
export function startHops(res: object, requestId: string): void {
  open.set(res, { requestId, stamps: { 'g.in': hopNow() } });
}

/** One gateway stamp for the request answered on `res`. */
export function markHop(res: object, name: string): void {
  const o = open.get(res);
  if (o) o.stamps[name] = hopNow();
}

/** The chain that came back from the worker (on the `end` frame), as the session takes that frame (`g.session`). */
export function addHops(res: object, hops: string | undefined): void {
  const o = open.get(res);
  if (!o) return;
  Object.assign(o.stamps, parseHops(hops));
  o.stamps['g.session'] = hopNow();
}

/** The answer is written: stamps `g.out` and hands the record on. */
export function finishHops(res: object): void {
  const o = open.get(res);
  if (!o) return;
  open.delete(res);
  o.stamps['g.out'] = hopNow();
  pending.push(`${JSON.stringify(o satisfies HopRecord)}\n`);
}
