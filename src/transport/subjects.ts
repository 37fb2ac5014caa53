/**
 * NATS subject naming. Every segment that may come from user input (function ids, model names,
 * worker ids) goes through `encodeSegment`, so `.`, `*`, `>` and whitespace can never act as
 * separators or wildcards.
 */

// Bytes outside this set are written as `~` + two hex digits; `~` itself is escaped too, so the
// encoding is injective and reversible.
const SAFE = /^[A-Za-z0-9_-]$/;
/** A value of safe characters only is its own encoding: the common case (ids, most model names), without the byte loop. */
const ALL_SAFE = /^[A-Za-z0-9_-]+$/;

export function encodeSegment(value: string): string {
  if (value.length === 0) return '~';
  if (ALL_SAFE.test(value)) return value;
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE.test(ch) ? ch : `~${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function decodeSegment(segment: string): string {
  if (segment === '~') return '';
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] as string;
    if (ch === '~') {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) throw new Error(`bad subject segment encoding: ${segment}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(ch.charCodeAt(0));
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

const ROOT = 'llmux';

export const subjects = {
  /** Gateways publish inference requests here; routers subscribe to `route.>` in one queue group. */
  route: (functionId: string): string => `${ROOT}.route.${encodeSegment(functionId)}`,
  routeAll: `${ROOT}.route.>`,
  /** A worker's request subject; the router forwards to it keeping the gateway's reply subject. */
  workerInfer: (workerId: string): string => `${ROOT}.worker.${encodeSegment(workerId)}.infer`,
  /** Cancels for a worker's in-flight requests, from the gateway that holds the client. */
  workerCancel: (workerId: string): string => `${ROOT}.worker.${encodeSegment(workerId)}.cancel`,
  /**
   * Leases from a gateway: the reply subjects of the requests it still holds on this worker, sent
   * every lease interval; a request whose lease lapses has lost its gateway and is aborted.
   */
  workerLease: (workerId: string): string => `${ROOT}.worker.${encodeSegment(workerId)}.lease`,
  /** Flow control from the gateway holding a slow client: pause and resume reading one request's engine stream. */
  workerFlow: (workerId: string): string => `${ROOT}.worker.${encodeSegment(workerId)}.flow`,
  /**
   * Where a worker answers a request whose reply subject is `reply`: `reply` with the worker's id as
   * one more token. It is the only form a worker's NATS identity may publish an answer in
   * (nats-credentials.ts), so the last token tells the receiver, unforgeably, which worker sent it.
   */
  workerAnswer: (reply: string, workerId: string): string => `${reply}.${encodeSegment(workerId)}`,
  /** What a worker's identity may publish answers to: a signed `_INBOX.<id>` or `_INBOX.<id>.<token>`. */
  workerAnswers: (workerId: string): string[] => [`_INBOX.*.${encodeSegment(workerId)}`, `_INBOX.*.*.${encodeSegment(workerId)}`],
  /** Asks a worker to drain: take nothing new, finish what it has. */
  workerDrain: (workerId: string): string => `${ROOT}.worker.${encodeSegment(workerId)}.drain`,
  /**
   * Worker registry events (register, heartbeat, load, deregister), scoped to the worker's cluster:
   * a router subscribes to its own cluster's only (`registryOf`), so registry traffic never leaves
   * the cluster. A worker's NATS permissions allow it this one subject.
   */
  registry: (cluster: string, workerId: string): string => `${ROOT}.registry.${encodeSegment(cluster)}.${encodeSegment(workerId)}`,
  registryOf: (cluster: string): string => `${ROOT}.registry.${encodeSegment(cluster)}.*`,
  /** Each router tells the others of its cluster where it sent a request, so their load and prefix views stay current. */
  routed: (cluster: string): string => `${ROOT}.routed.${encodeSegment(cluster)}`,
  /** Every router publishes a summary of its cluster's workers here (about once a second); routers of other clusters read them. */
  summary: (cluster: string): string => `${ROOT}.summary.${encodeSegment(cluster)}`,
  summaryAll: `${ROOT}.summary.*`,
  /**
   * A request spilled from cluster `from` to cluster `to`'s routers (one queue group per cluster),
   * forwarded unchanged with the gateway's reply subject. The origin is a subject token rather than
   * a header, so the receiving router knows it must not spill it again.
   */
  spill: (to: string, functionId: string, from: string): string =>
    `${ROOT}.cluster.${encodeSegment(to)}.route.${encodeSegment(functionId)}.${encodeSegment(from)}`,
  spillInto: (cluster: string): string => `${ROOT}.cluster.${encodeSegment(cluster)}.route.*.*`,
  /** Questions for every router (decision records, the worker table); each answers to the reply subject. */
  routerAdmin: `${ROOT}.router.admin`,
  /** Rate-limit reservations and settlements, to the one limiter. */
  limiter: `${ROOT}.limiter`,
  /**
   * The usage ledger: one record per request, by the cluster of the gateway that served it, then
   * tenant. Each cluster's records go to a stream in that cluster (`usageOf`), so a cluster cut off
   * from the others keeps storing its own.
   */
  usage: (cluster: string, tenant: string): string => `${ROOT}.usage.${encodeSegment(cluster)}.${encodeSegment(tenant)}`,
  usageOf: (cluster: string): string => `${ROOT}.usage.${encodeSegment(cluster)}.>`,
  /** KV cache events a worker relays from its engine (protocol/kv-events.ts); routers of the cluster subscribe to `kvEventsOf`. */
  kvEvents: (cluster: string, workerId: string): string => `${ROOT}.kv.${encodeSegment(cluster)}.${encodeSegment(workerId)}`,
  kvEventsOf: (cluster: string): string => `${ROOT}.kv.${encodeSegment(cluster)}.*`,
  /** Routers ask every worker of their cluster to announce itself (after a router starts). */
  discover: (cluster: string): string => `${ROOT}.discover.${encodeSegment(cluster)}`,
} as const;

/** The cluster a process belongs to when none is configured: a single-cluster deployment uses it throughout. */
export const defaultCluster = 'local';

/** The origin cluster of a spilled request's subject (`subjects.spill`), or undefined when it is not one. */
export function spilledFrom(subject: string): string | undefined {
  const parts = subject.split('.');
  if (parts.length !== 6 || parts[0] !== ROOT || parts[1] !== 'cluster' || parts[3] !== 'route') return undefined;
  try {
    return decodeSegment(parts[5] as string);
  } catch {
    return undefined;
  }
}

export const queues = {
  routers: 'llmux-routers',
} as const;
