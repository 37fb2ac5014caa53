// Smoke test of bench:peers (not a timing assertion): a short low-load run against a real simulator
// and `llmux up` (real nats-server, real HTTP), the peer left out (no downloads in tests), reports
// every row and every target with finite, non-negative numbers. Uses dist/ (run `npm run build` first).
import { describe, expect, it } from 'vitest';
import { runPeerBench } from '../bench/lib/peer-run.js';
import { countTokens } from '../bench/lib/peer-stream.js';

describe('bench:peers', () => {
  it('counts only complete SSE events with content as tokens', () => {
    const { count, rest } = countTokens('data: {"delta":{"role":"assistant","content":""}}\n\ndata: {"delta":{"content":"a"}}\n\ndata: {"delta":{"content":"b');
    expect(count).toBe(1);
    expect(rest).toBe('data: {"delta":{"content":"b');
  });

  it('reports saturation, fixed-rate latency and streaming for direct and llmux, none negative', async () => {
    const r = await runPeerBench({ concurrency: 4, rounds: 1, runSeconds: 0.5, warmupSeconds: 0.3, rate: 10, rateSeconds: 1, maxTokens: 8, streamTokens: 16 });
    expect(r.rows.map((row) => row.target)).toEqual(['direct', 'llmux']);
    for (const row of r.rows) {
      const s = row.streaming;
      if ('skipped' in s) throw new Error(`${row.target} streaming skipped: ${s.skipped}`);
      expect([row.saturation.errors, row.fixedRate.errors, s.errors], row.target).toEqual([0, 0, 0]);
      expect(row.fixedRate.count, row.target).toBe(10);
      const figures = [row.saturation.rps, row.saturation.p50Ms, row.saturation.p99Ms, row.fixedRate.p50Ms, row.fixedRate.p99Ms,
        s.rps, s.tokensPerSecond, s.gapP50Ms, s.gapP99Ms, s.p50Ms, s.p99Ms];
      for (const v of figures) {
        expect(Number.isFinite(v), row.target).toBe(true);
        expect(v, row.target).toBeGreaterThanOrEqual(0);
      }
      expect(row.saturation.rps, row.target).toBeGreaterThan(0);
      expect(s.tokensPerSecond, row.target).toBeGreaterThan(0);
    }
    // The llmux process's own CPU time and system calls per 1,000 tokens (from /proc), not the simulator's.
    const perKiloToken = (r.rows[1]!.streaming as { perKiloToken?: { cpuMs: number; writes: number; reads: number } }).perKiloToken;
    expect(perKiloToken?.cpuMs).toBeGreaterThan(0);
    expect(perKiloToken?.writes).toBeGreaterThan(0);
    expect(perKiloToken?.reads).toBeGreaterThan(0);
    expect('perKiloToken' in r.rows[0]!.streaming).toBe(false);
    const llmuxPhaseDirect = r.rows[1]!.fixedRate.direct;
    expect(llmuxPhaseDirect && [llmuxPhaseDirect.p50Ms, llmuxPhaseDirect.p99Ms].every((v) => v >= 0)).toBe(true);
    // Without the peer its ratio cannot be computed, and is not claimed; the others are figures.
    expect(r.targets.map((t) => t.name)).toHaveLength(5);
    expect(r.targets[0]).toMatchObject({ met: false });
    expect(Number.isNaN(r.targets[0]!.value)).toBe(true);
    for (const t of r.targets.slice(1)) expect(Number.isFinite(t.value), t.name).toBe(true);
    expect(r.loadBefore).toHaveLength(3);
  }, 60_000);
});
