// The usage ledger survives a nats-server restart (file storage) during a load run: afterwards every
// request has exactly one record, none lost and none doubled. No ledger consumer runs meanwhile.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { openUsageStream, readUsageRecords } from '../src/ledger/usage-ledger.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { defaultCluster, subjects } from '../src/transport/subjects.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { startTestStack, testApiKey, waitFor } from './support/stack.js';

let nats: NatsServerHandle;
let stack: LocalStack;
const storeDir = mkdtempSync(join(tmpdir(), 'llmux-ledger-js-'));

beforeAll(async () => {
  nats = await startNatsServer({ storeDir });
  // Short timeouts, so requests caught by the outage end (and are recorded) while nats-server is down.
  stack = await startTestStack({ workers: 2, natsUrl: nats.url, sessionLimits: { acceptTimeoutMs: 1_000, idleTimeoutMs: 1_000, maxAttempts: 1 } });
});
afterAll(async () => {
  await stack?.stop();
  await nats?.stop();
});

describe('usage ledger', () => {
  it('has exactly one record per request after nats-server restarts mid-run', async () => {
    const ids: string[] = [];
    const statuses = new Map<number, number>();
    let running = true;
    const client = async (i: number): Promise<void> => {
      for (let n = 0; running; n++) {
        const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: stack.models[0], max_tokens: 3, messages: [{ role: 'user', content: `client ${i} request ${n}` }] }),
        });
        await res.arrayBuffer();
        ids.push(res.headers.get('x-request-id') as string);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, i) => client(i)));
    await waitFor(() => ids.length > 100, 10_000);
    await nats.stop(); // the JetStream store stays on disk
    const pendingSeen = await waitFor(() => (stack.gateway.ledger?.pending ?? 0) > 0, 10_000).then(() => stack.gateway.ledger?.pending ?? 0);
    await new Promise((r) => setTimeout(r, 1_500));
    nats = await startNatsServer({ storeDir, port: Number(new URL(stack.natsUrl).port) });
    const before = ids.length;
    await waitFor(() => statuses.get(200) !== undefined && ids.length > before + 100, 20_000);
    running = false;
    await load;
    await stack.gateway.ledger?.flush(15_000);
    expect(stack.gateway.ledger?.pending).toBe(0);

    const transport = await connectNats({ servers: stack.natsUrl, name: 'test-ledger-reader' });
    const records = await readUsageRecords(await openUsageStream(transport));
    await transport.close();
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.requestId, (counts.get(r.requestId) ?? 0) + 1);
    console.log(`ledger: ${ids.length} requests (${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}), ` +
      `${pendingSeen}+ records waiting while nats-server was down, ${records.length} records afterwards, ${stack.gateway.ledger?.duplicates} duplicate publishes dropped`);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(counts.keys())).toEqual(new Set(ids));
    expect(pendingSeen).toBeGreaterThan(0);
  });

  it('bills every request, whatever x-request-id the client sends: five requests with one id are five records', async () => {
    const ids: string[] = [];
    const duplicatesBefore = stack.gateway.ledger?.duplicates;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', 'x-request-id': 'reused-id-1' },
        body: JSON.stringify({ model: stack.models[0], max_tokens: 2, messages: [{ role: 'user', content: `reuse ${i}` }] }),
      });
      expect(res.status).toBe(200);
      ids.push(res.headers.get('x-request-id') as string);
    }
    expect(new Set(ids)).toEqual(new Set(['reused-id-1']));
    await stack.gateway.ledger?.flush(10_000);
    const transport = await connectNats({ servers: stack.natsUrl, name: 'test-ledger-reuse' });
    try {
      const records = (await readUsageRecords(await openUsageStream(transport))).filter((r) => r.requestId === 'reused-id-1');
      expect(records).toHaveLength(5);
      expect(new Set(records.map((r) => r.recordId)).size).toBe(5);
      expect(stack.gateway.ledger?.duplicates).toBe(duplicatesBefore);
    } finally {
      await transport.close();
    }
  });

  it('stores a record appended twice with the same request id once (a publish retried after a lost ack)', async () => {
    const transport = await connectNats({ servers: stack.natsUrl, name: 'test-ledger-dedupe' });
    try {
      const stream = await openUsageStream(transport);
      const record = { requestId: 'dedupe-1', tenant: 't', keyId: 'k', functionId: 'f', versionId: 'v', model: 'm', promptTokens: 1,
        completionTokens: 1, cachedTokens: 0, start: new Date().toISOString(), end: new Date().toISOString(), status: 200, outcome: 'ok' };
      expect(await stream.append(subjects.usage(defaultCluster, 't'), record, record.requestId)).toEqual({ duplicate: false });
      expect(await stream.append(subjects.usage(defaultCluster, 't'), record, record.requestId)).toEqual({ duplicate: true });
      expect((await readUsageRecords(stream)).filter((r) => r.requestId === 'dedupe-1')).toHaveLength(1);
    } finally {
      await transport.close();
    }
  });
});
