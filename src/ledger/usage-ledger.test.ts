// The ledger's outbox: a record that can never be stored is set aside, counted and logged, and never
// holds up the records behind it.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../observability/logger.js';
import type { DurableStream } from '../transport/transport.js';
import { type UsageRecord, UsageLedger } from './usage-ledger.js';

const record = (requestId: string, tenant = 'acme'): UsageRecord => ({
  recordId: `rec-${requestId}`, requestId, tenant, keyId: 'k', functionId: 'f', versionId: 'v', model: 'm', promptTokens: 1, completionTokens: 1,
  cachedTokens: 0, start: new Date().toISOString(), end: new Date().toISOString(), status: 200, outcome: 'ok',
});

/** A stream that stores every record except those `refuses` names, which fail every time. */
function stream(refuses: (r: UsageRecord) => boolean): DurableStream & { stored: string[] } {
  const stored: string[] = [];
  return {
    stored,
    async append(_subject, body) {
      const r = body as UsageRecord;
      if (refuses(r)) throw new Error('refused');
      stored.push(r.requestId);
      return { duplicate: false };
    },
    read: () => (async function* () {})(),
  };
}

describe('usage ledger', () => {
  it('sets aside a record whose subject nats-server would refuse, before trying, and stores the others', async () => {
    const s = stream(() => false);
    const reasons: string[] = [];
    const ledger = new UsageLedger(s, silentLogger(), 64, (why) => reasons.push(why));
    ledger.append(record('long', 'x'.repeat(5_000)));
    ledger.append(record('fine'));
    await ledger.flush(2_000);
    expect(s.stored).toEqual(['fine']);
    expect(ledger.setAside).toBe(1);
    expect(ledger.setAsideRecords.map((r) => r.requestId)).toEqual(['long']);
    expect(reasons[0]).toMatch(/subject/);
  });

  it('sets aside a record that keeps failing while the records behind it are stored, so they are not held up', async () => {
    const s = stream((r) => r.requestId === 'poison');
    const ledger = new UsageLedger(s, silentLogger(), 1);
    ledger.append(record('poison'));
    for (let i = 0; i < 30; i++) ledger.append(record(`r${i}`));
    await ledger.flush(15_000);
    expect(ledger.pending).toBe(0);
    expect(s.stored).toHaveLength(30);
    expect(ledger.setAside).toBe(1);
  }, 20_000);
});
