// Smoke test of bench:memory (not a timing assertion): 50 slow streams through the llmux process
// (real nats-server, real simulator, real HTTP), every step sampled with plausible memory figures,
// every stream complete, and the heap snapshot summarized by constructor. Uses dist/ (run `npm run build` first).
import { describe, expect, it } from 'vitest';
import { summarizeHeapSnapshot } from '../bench/lib/memory-heap.js';
import { perStreamKiB } from '../bench/lib/memory-report.js';
import { runMemoryBench } from '../bench/lib/memory-run.js';

describe('bench:memory', () => {
  it('samples idle, each step in flight and after, with plausible RSS, and every stream ends complete', async () => {
    const r = await runMemoryBench({ streams: 50, steps: [10, 25], workers: 2, capacity: 64, itlMs: 100, ttftMs: 0, maxTokens: 30,
      maxPending: 50, settleMs: 300, heapSnapshotAt: 50 });
    expect(r.samples.map((s) => s.label)).toEqual(['idle', '10 streams', '25 streams', '50 streams', 'after, GC', 'after, GC again']);
    for (const s of r.samples) {
      for (const v of [s.llmuxRssMiB, s.metricsRssMiB, s.heapUsedMiB, s.natsRssMiB, s.simRssMiB]) {
        expect(Number.isFinite(v), s.label).toBe(true);
        expect(v, s.label).toBeGreaterThan(1);
        expect(v, s.label).toBeLessThan(4096);
      }
      // /proc and the gateway's own process_resident_memory_bytes see the same process.
      expect(Math.abs(s.llmuxRssMiB - s.metricsRssMiB), s.label).toBeLessThan(64);
    }
    expect(r.samples.slice(1, 4).map((s) => s.inFlight)).toEqual([10, 25, 50]);
    expect(r.samples.at(-1)?.inFlight).toBe(0);
    const idle = r.samples[0]!;
    expect(Number.isFinite(perStreamKiB(r.samples[3]!, idle, 'llmuxRssMiB'))).toBe(true);
    expect(r.outcomes).toEqual({ complete: 50, error: 0, hang: 0, unfinished: 0 });
    expect(r.maxInFlight).toBe(50);
    expect(r.heapSnapshot).toBeDefined();
    const heap = await summarizeHeapSnapshot(r.heapSnapshot as string);
    expect(heap.nodes).toBeGreaterThan(10_000);
    expect(heap.totalBytes / 2 ** 20).toBeGreaterThan(idle.heapUsedMiB / 4);
    expect(heap.groups.some((g) => g.name === 'Socket' && g.count >= 50)).toBe(true);
  }, 120_000);
});
