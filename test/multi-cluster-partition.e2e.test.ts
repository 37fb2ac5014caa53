// A partition between clusters, on real nats-servers: the NATS gateway links of cluster b (not the
// home cluster) are cut through the launcher's proxies. Each side keeps serving its own workers with
// its last view of the control plane; b's admin writes are refused (503, nothing written), a's go to
// the home cluster; b's gateway, cut off from the one limiter, fails open; b's usage records stay in
// b's own stream. After the heal, b's view catches up with the change made meanwhile and a reader
// sees every record of both clusters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MultiClusterStack, startMultiClusterStack } from '../src/launch/multi-cluster-stack.js';
import { readAllUsageRecords } from '../src/ledger/usage-ledger.js';
import { silentLogger } from '../src/observability/logger.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { waitFor } from './support/stack.js';

const adminKey = 'partition-test-admin-key';
let stack: MultiClusterStack;

beforeAll(async () => {
  stack = await startMultiClusterStack({ log: silentLogger(), clusters: ['a', 'b'], engineKind: 'vllm', workers: 1, cuttableGateways: true, adminKey,
    heartbeatMs: 400, sim: { ttftMs: 5, itlMs: 2 }, llmConfig: { requestRateLimit: '100000-M' } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

async function chat(gatewayUrl: string): Promise<{ status: number; worker: string | null; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-llmux-debug': '1' }, signal: AbortSignal.timeout(10_000),
    body: JSON.stringify({ model: stack.models[0], max_tokens: 4, messages: [{ role: 'user', content: 'hello' }] }),
  });
  await res.arrayBuffer();
  return { status: res.status, worker: res.headers.get('x-llmux-worker'), ms: Date.now() - started };
}

async function createFunction(gatewayUrl: string, id: string): Promise<{ status: number; code?: string; message?: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${gatewayUrl}/admin/api/functions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }, signal: AbortSignal.timeout(20_000),
    body: JSON.stringify({ id }),
  });
  const body = (await res.json()) as { error?: { code?: string; message?: string } };
  return { status: res.status, ...(body.error?.code ? { code: body.error.code, message: body.error.message } : {}), ms: Date.now() - started };
}

const limiterFailOpen = async (gatewayUrl: string): Promise<number> => {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  return Number(/llmux_gateway_limiter_unavailable_total\{outcome="admitted"\} (\d+)/.exec(text)?.[1] ?? 0);
};

describe('a partition between clusters', () => {
  it('keeps both sides serving, refuses writes away from home, and converges after the heal', async () => {
    const a = stack.cluster('a');
    const b = stack.cluster('b');
    expect((await chat(b.gatewayUrl)).status).toBe(200);
    const openBefore = await limiterFailOpen(b.gatewayUrl);

    stack.supercluster.isolate('b', 'cut');
    const cutAt = Date.now();
    try {
      // Each side serves its own workers.
      for (const [c, name] of [[a, 'a'], [b, 'b']] as const) {
        for (let i = 0; i < 3; i++) {
          const answer = await chat(c.gatewayUrl);
          expect(answer.status, `${name}'s gateway during the cut`).toBe(200);
          expect(answer.worker).toBe(`${name}-worker-1`);
        }
      }
      // b cannot reach the limiter in a: admitted without limits after the limiter timeout (fail open).
      expect(await limiterFailOpen(b.gatewayUrl)).toBeGreaterThanOrEqual(openBefore + 3);
      // A change through b's gateway is refused, retryably, and nothing is written; through a's it is made.
      const refused = await createFunction(b.gatewayUrl, 'written-in-b');
      expect(refused).toMatchObject({ status: 503, code: 'control_plane_unavailable' });
      expect((await createFunction(a.gatewayUrl, 'made-during-cut')).status).toBe(201);
      expect(b.gateway.catalog.getFunction('made-during-cut')).toBeUndefined();
      console.log(`partition: b's admin write refused after ${refused.ms} ms`);
    } finally {
      await stack.supercluster.rejoin('b');
    }
    const healedAt = Date.now();
    // b's view catches up with the change made meanwhile (its routers' and gateway's KV watches resume).
    const views = [b.gateway.catalog, ...b.routers.map((r) => r.catalog)];
    await waitFor(() => views.every((c) => c.getFunction('made-during-cut') !== undefined), 30_000, 100);
    const caughtUp = Date.now() - healedAt;
    expect(a.gateway.catalog.getFunction('written-in-b')).toBeUndefined();
    expect((await chat(b.gatewayUrl)).status).toBe(200);

    // Every record of both clusters, those of the cut included, is readable from the home cluster.
    await Promise.all(stack.clusters.map((c) => c.gateway.ledger?.flush(10_000)));
    const transport = await connectNats({ servers: a.control.natsUrl, name: 'test-usage', nkeySeed: a.control.nkeySeed as string,
      tls: a.control.natsTls as { caFile: string } });
    try {
      let read = await readAllUsageRecords(transport);
      await waitFor(async () => {
        read = await readAllUsageRecords(transport);
        return read.unread.length === 0 && read.records.filter((r) => r.cluster === 'b').length >= 5;
      }, 20_000, 250);
      const ofB = read.records.filter((r) => r.cluster === 'b' && Date.parse(r.start) >= cutAt && Date.parse(r.start) < healedAt);
      console.log(`partition: cut for ${healedAt - cutAt} ms; b's view caught up ${caughtUp} ms after the heal; ${ofB.length} of b's records made during the cut read from a`);
      expect(ofB.length).toBe(3);
    } finally {
      await transport.close();
    }
  }, 120_000);
});
