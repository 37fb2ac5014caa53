// Token limits across gateway replicas: three gateways under load share one limiter; afterwards the
// usage ledger says how many tokens were admitted in every one-second window, against the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { openUsageStream, readUsageRecords, type UsageRecord } from '../src/ledger/usage-ledger.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { startTestStack, testApiKey } from './support/stack.js';

const limit = 3_000;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({ workers: 2, gateways: 3, llmConfig: { tokenRateLimit: `${limit}-S` } });
});
afterAll(async () => stack?.stop());

/** The largest sum of charged tokens over any one-second window of admissions. */
function worstWindow(records: readonly UsageRecord[]): number {
  // What the limiter keeps charged: the reservation, or what was used when less (it only refunds).
  const points = records.filter((r) => r.admittedAt && r.reservedTokens !== undefined)
    .map((r) => ({ at: Date.parse(r.admittedAt as string), tokens: Math.min(r.reservedTokens as number, r.promptTokens + r.completionTokens) }))
    .sort((a, b) => a.at - b.at);
  let worst = 0;
  let sum = 0;
  let start = 0;
  for (const p of points) {
    sum += p.tokens;
    while ((points[start] as { at: number }).at <= p.at - 1_000) sum -= (points[start++] as { tokens: number }).tokens;
    worst = Math.max(worst, sum);
  }
  return worst;
}

// Each request reserves its prompt plus max_tokens (~315 tokens), so ~10 admissions a second fill the
// limit: 24 clients ask for far more than that on any machine. With max_tokens 20 (~35 tokens) the
// load had to reach ~85 requests a second, and on a loaded 2-core machine it did not (0 refused).
const maxTokens = 300;

describe('token limits across three gateways', () => {
  it('keeps the tokens admitted in any second within 1% of the limit', async () => {
    const urls = stack.gateways.map((g) => g.url);
    const deadline = Date.now() + 3_000;
    const counts = { ok: 0, limited: 0, other: 0 };
    const client = async (i: number): Promise<void> => {
      const url = urls[i % urls.length] as string;
      while (Date.now() < deadline) {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: stack.models[0], max_tokens: maxTokens, messages: [{ role: 'user', content: `request from client ${i}` }] }),
        });
        await res.arrayBuffer();
        if (res.status === 200) counts.ok++;
        else if (res.status === 429) counts.limited++;
        else counts.other++;
        if (res.status === 429) await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after-ms') ?? 50)));
      }
    };
    await Promise.all(Array.from({ length: 24 }, (_, i) => client(i)));
    for (const g of stack.gateways) await g.ledger?.flush(5_000);

    const transport = await connectNats({ servers: stack.natsUrl, name: 'test-reader', ...stack.natsCredentials });
    const records = (await readUsageRecords(await openUsageStream(transport))).filter((r) => r.outcome === 'ok');
    await transport.close();
    const worst = worstWindow(records);
    console.log(`3 gateways, 24 clients, 3 s: ${counts.ok} admitted, ${counts.limited} refused (429); worst 1 s window ${worst} tokens of ${limit} (${((worst / limit) * 100).toFixed(2)}%)`);
    expect(counts.other).toBe(0);
    expect(counts.limited).toBeGreaterThan(0); // the load really pushed against the limit
    expect(records).toHaveLength(counts.ok);
    expect(worst).toBeGreaterThan(limit * 0.8);
    expect(worst).toBeLessThanOrEqual(limit * 1.01);
  });
});
