// The ledger's outbox: a record that can never be stored is set aside, counted and logged, and never
// holds up the records behind it; records that end close together share one message, retried whole.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../observability/logger.js';
import type { DurableStream } from '../transport/transport.js';
import { readUsageRecords, type UsageRecord, UsageLedger } from './usage-ledger.js';

const record = (requestId: string, tenant = 'acme'): UsageRecord => ({
  recordId: `rec-${requestId}`, requestId, tenant, keyId: 'k', functionId: 'f', versionId: 'v', model: 'm', promptTokens: 1, completionTokens: 1,
  cachedTokens: 0, start: new Date().toISOString(), end: new Date().toISOString(), status: 200, outcome: 'ok',
});

const recordsIn = (body: unknown): UsageRecord[] => (Array.isArray(body) ? body : [body]) as UsageRecord[];

/**
 * A stream that stores every message except one holding a record `refuses` names (those fail every
 * time), de-duplicating by message id as JetStream does; `loseAck` names messages stored whose first
 * acknowledgement is lost.
 */
function stream(refuses: (r: UsageRecord) => boolean, loseAck: (id: string) => boolean = () => false): DurableStream & { stored: string[]; appends: number; ids: Set<string> } {
  const stored: string[] = [];
  const ids = new Set<string>();
  const messages: unknown[] = [];
  const s = {
    stored, ids, appends: 0,
    async append(_subject: string, body: unknown, msgId: string) {
      s.appends++;
      if (recordsIn(body).some(refuses)) throw new Error('refused');
      if (ids.has(msgId)) return { duplicate: true };
      ids.add(msgId);
      messages.push(body);
      stored.push(...recordsIn(body).map((r) => r.requestId));
      if (loseAck(msgId) && !lost.has(msgId)) {
        lost.add(msgId);
        throw new Error('timeout');
      }
      return { duplicate: false };
    },
    read: () => (async function* () {
      for (const body of messages) yield { subject: 's', body, time: 0 };
    })(),
  };
  const lost = new Set<string>();
  return s;
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

  it('sends the records that end within the batch delay in one message', async () => {
    const s = stream(() => false);
    const ledger = new UsageLedger(s, silentLogger(), 64, () => undefined, undefined, 50);
    for (let i = 0; i < 10; i++) ledger.append(record(`b${i}`));
    await ledger.flush(2_000);
    expect(s.stored).toHaveLength(10);
    expect(s.appends).toBe(1);
    expect(ledger.appended).toBe(10);
  });

  it('retries a batch whose acknowledgement was lost under the same id, so its records are stored once', async () => {
    const s = stream(() => false, (id) => id.startsWith('batch-'));
    const ledger = new UsageLedger(s, silentLogger(), 64, () => undefined, undefined, 50);
    for (let i = 0; i < 5; i++) ledger.append(record(`a${i}`));
    await ledger.flush(5_000);
    expect(ledger.pending).toBe(0);
    expect([...s.stored].sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(ledger.duplicates).toBe(5);
  });

  it('reads a record stored both in a batch and alone (a batch split after failing) once', async () => {
    const s = stream(() => false);
    await s.append('s', [record('x1'), record('x2')], 'batch-1');
    await s.append('s', record('x1'), 'rec-x1');
    expect((await readUsageRecords(s)).map((r) => r.requestId)).toEqual(['x1', 'x2']);
  });
});
