// Smoke test of bench:latency (not a timing assertion): a short run at a low rate against a real
// simulator and `llmux up` (real nats-server, real HTTP) reports every hop of every llmux request,
// each with non-negative percentiles. Uses dist/ (run `npm run build` first).
import { describe, expect, it } from 'vitest';
import { hops } from '../bench/lib/latency-hops.js';
import { runLatencyBench } from '../bench/lib/latency-run.js';

describe('bench:latency', () => {
  it('reports the direct and llmux latency and every hop of the llmux requests, none negative', async () => {
    const r = await runLatencyBench({ rate: 10, seconds: 2, warmupSeconds: 0.5, streaming: false, tokens: 8 });
    expect(r.errors).toEqual({ direct: 0, llmux: 0 });
    expect(r.direct.count).toBe(20);
    expect(r.llmux.count).toBe(20);
    // Every llmux request came back with every stamp, gateway's, router's and worker's.
    expect(r.breakdown.incomplete).toBe(0);
    expect(r.breakdown.requests).toBe(20);
    expect(r.breakdown.rows.map((row) => row.hop)).toEqual(hops);
    for (const row of r.breakdown.rows) {
      for (const v of [row.ms.p50, row.ms.p90, row.ms.p99, row.ms.mean]) {
        expect(Number.isFinite(v), `${row.hop.name}`).toBe(true);
        expect(v, `${row.hop.name}`).toBeGreaterThanOrEqual(0);
      }
    }
    expect(r.groups.map((g) => g.group)).toEqual([...new Set(hops.map((h) => h.group))]);
    expect(r.breakdown.maxTilingErrorMs).toBeLessThan(1e-6);
    expect(r.loadBefore).toHaveLength(3);
  }, 60_000);
});
