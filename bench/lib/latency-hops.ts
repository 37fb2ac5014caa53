/**
 * The hops of one request through llmux, from the client's send (`c.send`) to its last byte
 * (`c.recv`), as spans between the stamps src/observability/hop-timing.ts takes. Consecutive hops
 * share their boundary, so a request's hops add up to its total by construction; what the check
 * below can catch is a missing stamp or a negative span (clocks of two processes that disagree).
 */
import { percentile } from './stats.js';

export interface Hop {
  /** The hop this span belongs to. */
  group: string;
  name: string;
  from: string;
  to: string;
}

/** In order: each hop starts where the one before it ended. */
export const hops: readonly Hop[] = [
  { group: 'HTTP parse, auth, validation', name: 'client → gateway handler (socket, HTTP parse)', from: 'c.send', to: 'g.in' },
  { group: 'HTTP parse, auth, validation', name: 'auth', from: 'g.in', to: 'g.auth' },
  { group: 'HTTP parse, auth, validation', name: 'body read, JSON parse, validation', from: 'g.auth', to: 'g.valid' },
  { group: 'prompt counting', name: 'target, trace, prompt counting', from: 'g.valid', to: 'g.counted' },
  { group: 'admission', name: 'context check, admission', from: 'g.counted', to: 'g.admitted' },
  { group: 'router decode, decision, forward', name: 'session, gateway mailbox, publish', from: 'g.admitted', to: 'g.dispatch' },
  { group: 'router decode, decision, forward', name: 'NATS gateway → router (incl. msgpack decode)', from: 'g.dispatch', to: 'r.in' },
  { group: 'router decode, decision, forward', name: 'router: request validation', from: 'r.in', to: 'r.parsed' },
  { group: 'router decode, decision, forward', name: 'router: mailbox, decision, forward', from: 'r.parsed', to: 'r.out' },
  { group: 'router decode, decision, forward', name: 'NATS router → worker (incl. decode)', from: 'r.out', to: 'w.in' },
  { group: 'worker engine call', name: 'worker: validation, mailbox, accepted, request build', from: 'w.in', to: 'w.call' },
  { group: 'worker engine call', name: 'engine HTTP call (incl. the engine\'s own time)', from: 'w.call', to: 'w.engine' },
  { group: 'worker engine call', name: 'worker: output token count', from: 'w.engine', to: 'w.end' },
  { group: 'frame relay', name: 'NATS worker → gateway (end frame, incl. decode)', from: 'w.end', to: 'g.frame' },
  { group: 'frame relay', name: 'gateway mailbox → session', from: 'g.frame', to: 'g.session' },
  { group: 'render', name: 'usage, render, write', from: 'g.session', to: 'g.out' },
  { group: 'HTTP out', name: 'gateway socket → client last byte', from: 'g.out', to: 'c.recv' },
];

/** The hop that holds the engine's own time: its overhead is what it takes beyond a direct request. */
export const engineHop = 'w.call→w.engine';
export const hopKey = (h: Hop): string => `${h.from}→${h.to}`;

/** One request's hop durations (ms, in `hops` order), or the stamps it lacks. */
export function hopDurations(stamps: Readonly<Record<string, number>>): { ok: true; ms: number[]; totalMs: number } | { ok: false; missing: string[] } {
  const missing = [...new Set(hops.flatMap((h) => [h.from, h.to]))].filter((s) => typeof stamps[s] !== 'number');
  if (missing.length > 0) return { ok: false, missing };
  const at = (s: string): number => stamps[s] as number;
  return { ok: true, ms: hops.map((h) => at(h.to) - at(h.from)), totalMs: at('c.recv') - at('c.send') };
}

export interface Pct {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function pct(values: readonly number[]): Pct {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || NaN);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), mean };
}

export interface HopRow {
  hop: Hop;
  ms: Pct;
  /** Spans below zero (clock disagreement between processes), counted not clipped. */
  negative: number;
}

export interface Breakdown {
  /** Requests with every stamp. */
  requests: number;
  /** Requests lacking a stamp, and the first one's missing stamps. */
  incomplete: number;
  firstMissing?: string[];
  rows: HopRow[];
  /** c.send → c.recv of the complete requests. */
  total: Pct;
  /** Per request, |Σ hops − total| at its largest (ms): zero up to float rounding when the hops tile the request. */
  maxTilingErrorMs: number;
  /** Σ of the hops' means − the total's mean (ms). */
  meanGapMs: number;
  /** Σ of the hops' p50s − the total's p50 (ms): percentiles do not add, so this is not zero. */
  p50GapMs: number;
}

/** Aggregates the stamps of many requests into per-hop percentiles and the checks that they add up. */
export function aggregateHops(records: ReadonlyArray<Readonly<Record<string, number>>>): Breakdown {
  const per: number[][] = hops.map(() => []);
  const totals: number[] = [];
  let incomplete = 0;
  let firstMissing: string[] | undefined;
  let maxTilingErrorMs = 0;
  for (const stamps of records) {
    const d = hopDurations(stamps);
    if (!d.ok) {
      incomplete++;
      firstMissing ??= d.missing;
      continue;
    }
    d.ms.forEach((ms, i) => (per[i] as number[]).push(ms));
    totals.push(d.totalMs);
    maxTilingErrorMs = Math.max(maxTilingErrorMs, Math.abs(d.ms.reduce((a, b) => a + b, 0) - d.totalMs));
  }
  const rows = hops.map((hop, i) => ({ hop, ms: pct(per[i] as number[]), negative: (per[i] as number[]).filter((v) => v < 0).length }));
  const total = pct(totals);
  const sum = (k: keyof Pct): number => rows.reduce((a, r) => a + r.ms[k], 0);
  return {
    requests: totals.length, incomplete, ...(firstMissing ? { firstMissing } : {}), rows, total, maxTilingErrorMs,
    meanGapMs: sum('mean') - total.mean, p50GapMs: sum('p50') - total.p50,
  };
}

/** The breakdown by the hops: each group's span per request (its hops summed), in order. */
export function aggregateGroups(records: ReadonlyArray<Readonly<Record<string, number>>>): Array<{ group: string; ms: Pct }> {
  const groups = [...new Set(hops.map((h) => h.group))];
  const per = new Map<string, number[]>(groups.map((g) => [g, []]));
  for (const stamps of records) {
    const d = hopDurations(stamps);
    if (!d.ok) continue;
    const sums = new Map<string, number>();
    hops.forEach((h, i) => sums.set(h.group, (sums.get(h.group) ?? 0) + (d.ms[i] as number)));
    for (const [g, v] of sums) per.get(g)?.push(v);
  }
  return groups.map((group) => ({ group, ms: pct(per.get(group) ?? []) }));
}

/**
 * The added latency rebuilt from the hops: every hop but the engine call, plus the engine call less
 * a direct request, at each percentile. For the mean this equals llmux − direct exactly; for a
 * percentile it does not (percentiles do not add), and the gap says how far the split is from the total.
 */
export function addedFromHops(b: Breakdown, direct: Pct): Pct {
  const at = (k: keyof Pct): number => b.rows.reduce((a, r) => a + (hopKey(r.hop) === engineHop ? r.ms[k] - direct[k] : r.ms[k]), 0);
  return { p50: at('p50'), p90: at('p90'), p99: at('p99'), mean: at('mean') };
}

/** llmux − direct at each percentile (and the mean): what llmux adds. */
export function added(llmux: Pct, direct: Pct): Pct {
  return { p50: llmux.p50 - direct.p50, p90: llmux.p90 - direct.p90, p99: llmux.p99 - direct.p99, mean: llmux.mean - direct.mean };
}
