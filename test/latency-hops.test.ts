import { describe, expect, it } from 'vitest';
import { added, addedFromHops, aggregateGroups, aggregateHops, engineHop, hopDurations, hopKey, hops, pct } from '../bench/lib/latency-hops.js';
import { parseHops, stampHop } from '../src/observability/hop-timing.js';

/** The stamps of one request whose hop i lasts `ms(i)`, starting at `t0`. */
function request(t0: number, ms: (i: number) => number): Record<string, number> {
  const stamps: Record<string, number> = { [hops[0]!.from]: t0 };
  let t = t0;
  hops.forEach((h, i) => {
    t += ms(i);
    stamps[h.to] = t;
  });
  return stamps;
}

describe('bench:latency aggregation', () => {
  it('percentiles are nearest-rank over the samples, in any order', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(pct(values)).toEqual({ p50: 50, p90: 90, p99: 99, mean: 50.5 });
    expect(pct([7])).toEqual({ p50: 7, p90: 7, p99: 7, mean: 7 });
    expect(Number.isNaN(pct([]).p50)).toBe(true);
  });

  it('a request\'s hops are the spans between consecutive stamps and add up to its total', () => {
    const d = hopDurations(request(1000, (i) => i + 1));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.ms).toEqual(hops.map((_, i) => i + 1));
    expect(d.totalMs).toBe((hops.length * (hops.length + 1)) / 2);
  });

  it('the hops tile c.send → c.recv with no gap and no overlap', () => {
    expect(hops[0]!.from).toBe('c.send');
    expect(hops.at(-1)!.to).toBe('c.recv');
    hops.slice(1).forEach((h, i) => expect(h.from).toBe(hops[i]!.to));
  });

  it('per-hop percentiles over many requests, the sum checks, and a request lacking a stamp set apart', () => {
    // 100 requests: hop 0 lasts k ms in request k (1..100), every other hop 1 ms.
    const records = Array.from({ length: 100 }, (_, k) => request(k * 1000, (i) => (i === 0 ? k + 1 : 1)));
    const broken = request(0, () => 1);
    delete broken['r.in'];
    const b = aggregateHops([...records, broken]);
    expect(b.requests).toBe(100);
    expect(b.incomplete).toBe(1);
    expect(b.firstMissing).toEqual(['r.in']);
    expect(b.rows[0]!.ms).toEqual({ p50: 50, p90: 90, p99: 99, mean: 50.5 });
    for (const r of b.rows.slice(1)) expect(r.ms).toEqual({ p50: 1, p90: 1, p99: 1, mean: 1 });
    const others = hops.length - 1;
    expect(b.total).toEqual({ p50: 50 + others, p90: 90 + others, p99: 99 + others, mean: 50.5 + others });
    expect(b.maxTilingErrorMs).toBeLessThan(1e-9);
    expect(Math.abs(b.meanGapMs)).toBeLessThan(1e-9);
    expect(b.p50GapMs).toBeCloseTo(0, 9);
    expect(b.rows.every((r) => r.negative === 0)).toBe(true);
  });

  it('counts negative spans (clocks or preemption) instead of clipping them', () => {
    const b = aggregateHops([request(0, (i) => (i === hops.length - 1 ? -0.5 : 1))]);
    expect(b.rows.at(-1)!.negative).toBe(1);
    expect(b.rows.at(-1)!.ms.p50).toBe(-0.5);
  });

  it('groups sum their hops per request, and added is llmux − direct at each percentile', () => {
    const groups = aggregateGroups([request(0, () => 1), request(0, () => 3)]);
    const sizes = new Map<string, number>();
    for (const h of hops) sizes.set(h.group, (sizes.get(h.group) ?? 0) + 1);
    for (const g of groups) expect(g.ms).toEqual({ p50: sizes.get(g.group)!, p90: 3 * sizes.get(g.group)!, p99: 3 * sizes.get(g.group)!, mean: 2 * sizes.get(g.group)! });
    expect(added({ p50: 5, p90: 9, p99: 20, mean: 6 }, { p50: 1, p90: 2, p99: 8, mean: 1.5 })).toEqual({ p50: 4, p90: 7, p99: 12, mean: 4.5 });
  });

  it('the added latency rebuilt from the hops takes the engine call less a direct request', () => {
    const engine = hops.findIndex((h) => hopKey(h) === engineHop);
    // Every hop 1 ms, the engine call 5 ms; a direct request 4 ms: llmux adds (hops − 1) × 1 + (5 − 4).
    const b = aggregateHops([request(0, (i) => (i === engine ? 5 : 1))]);
    const direct = { p50: 4, p90: 4, p99: 4, mean: 4 };
    expect(addedFromHops(b, direct)).toEqual({ p50: hops.length, p90: hops.length, p99: hops.length, mean: hops.length });
    expect(addedFromHops(b, direct).mean).toBeCloseTo(b.total.mean - direct.mean, 9);
  });

  it('hop stamps round-trip through a header value, malformed stamps skipped', () => {
    const chain = stampHop(stampHop(undefined, 'r.in'), 'r.out');
    const parsed = parseHops(`${chain};junk;x.y=notanumber;=5;__proto__=1;toolong.name=2`);
    expect(Object.keys(parsed)).toEqual(['r.in', 'r.out']);
    expect(parsed['r.out']!).toBeGreaterThanOrEqual(parsed['r.in']!);
  });
});
