import { describe, expect, it } from 'vitest';
import { parseClusterSummary, summaryBounds, type SummaryEntry } from './summary.protocol.js';

const entry = (overrides: Partial<SummaryEntry> = {}): SummaryEntry => ({
  functionId: 'fn', versionId: 'v1', model: 'm', workers: 2, ready: 2, capacity: 16, inFlight: 3, free: 13, healthy: true, ...overrides,
});
const summary = (overrides: Record<string, unknown> = {}) => ({
  type: 'summary', cluster: 'b', routerId: 'router-b', at: 1_000, intervalMs: 1_000, entries: [entry()], ...overrides,
});

describe('cluster summary protocol', () => {
  it('reads a well-formed summary, keeping only the known fields of each entry', () => {
    const parsed = parseClusterSummary(summary({ entries: [{ ...entry(), padding: 'x'.repeat(1000) }], extra: 1 }));
    expect(parsed).toEqual({ type: 'summary', cluster: 'b', routerId: 'router-b', at: 1_000, intervalMs: 1_000, entries: [entry()] });
  });

  it('refuses summaries out of shape or out of bounds', () => {
    const bad: unknown[] = [
      undefined, 'summary', summary({ type: 'heartbeat' }), summary({ cluster: '' }), summary({ cluster: 'c'.repeat(257) }),
      summary({ at: Number.NaN }), summary({ intervalMs: 10 }), summary({ intervalMs: 3_600_000 }), summary({ entries: 'all' }),
      summary({ entries: Array.from({ length: summaryBounds.maxEntries + 1 }, () => entry()) }), summary({ truncated: 'yes' }),
      summary({ entries: [entry({ workers: -1 })] }), summary({ entries: [entry({ free: 1.5 })] }), summary({ entries: [entry({ ready: 3 })] }),
      summary({ entries: [entry({ free: 17 })] }), summary({ entries: [entry({ capacity: 1e12, free: 1e12 })] }),
      summary({ entries: [entry({ model: 42 as unknown as string })] }), summary({ entries: [entry({ healthy: 'yes' as unknown as boolean })] }),
    ];
    for (const body of bad) expect(parseClusterSummary(body), JSON.stringify(body)?.slice(0, 120)).toBeUndefined();
  });
});
