// Precise KV-aware routing, all real (the gateway's HTTP in one case, its NATS request in the others): a nats-server on random ports, a router,
// three simulators with engine timing publishing vLLM's KV events, and their workers relaying them.
// A prompt computed on one engine directly (the router never routed it) must then be routed to that
// engine, named by its token-id blocks as the gateway names them, and the decision must say it used
// the KV events. The same request without the engine's events goes by the approximate index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferRequest } from '../src/actors/worker/worker.protocol.js';
import { tokenBlocks } from '../src/actors/router/token-blocks.js';
import { demoVersionId } from '../src/control/demo-function.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { runWorker } from '../src/launch/roles.js';
import { silentLogger } from '../src/observability/logger.js';
import { startSim, type SimServer } from '../src/sim/sim-server.js';
import { promptTokenIds } from '../src/tokenize/prompt-token-ids.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import type { Transport } from '../src/transport/transport.js';
import { startTestStack, testApiKey, waitFor } from './support/stack.js';

let stack: LocalStack;
let gateway: Transport;
const sims: SimServer[] = [];
const stops: Array<() => Promise<void>> = [];
const blockSize = 16;

beforeAll(async () => {
  stack = await startTestStack({ workers: 0, llmConfig: { routingMethod: 'cost-model', tokenizer: 'llmux-sim', routing: { kvBlockSize: blockSize } } });
  const [functionId, model] = (stack.models[0] as string).split('/') as [string, string];
  for (let i = 0; i < 3; i++) {
    const sim = await startSim({ models: [model], timing: 'engine', engine: { speedup: 50 }, kvEventsPort: 0 });
    sims.push(sim);
    const workerId = `kv-worker-${i}`;
    const { nkeySeed } = await stack.addWorkerIdentity(workerId);
    const w = await runWorker({ natsUrl: stack.natsUrl, nkeySeed, workerId, log: silentLogger(), engineKind: 'vllm', engineUrl: sim.url, functionId,
      versionId: demoVersionId, model, heartbeatMs: 250, engineSettings: { 'kv-events': sim.kvEvents?.endpoint as string } });
    stops.push(() => w.stop());
  }
  // Every worker subscribed to its engine's events, and reporting its engine's counters (the closed loop's baseline).
  await waitFor(() => stack.router.table.size === 3 && sims.every((s) => s.kvEvents?.subscribers() === 1) &&
    stack.router.table.all().every((w) => w.load.engine?.prefixCacheQueries !== undefined), 10_000);
  gateway = await connectNats({ servers: stack.natsUrl, name: 'test-gateway', ...stack.natsCredentials });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  for (const s of stops.splice(0)) await s().catch(() => undefined);
  for (const s of sims.splice(0)) await s.close();
  await stack?.stop();
});

const words = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

/** Publishes a chat request as the gateway would, its prompt named by token-id blocks; resolves with the router's decision. */
async function route(requestId: string, messages: Array<{ role: string; content: string }>, withTokenBlocks: boolean) {
  const [functionId, model] = (stack.models[0] as string).split('/') as [string, string];
  const ids = promptTokenIds('llmux-sim', { messages }) as number[];
  const inbox = `${gateway.newInboxPrefix()}.${requestId}`;
  const sub = gateway.subscribe(inbox, () => undefined);
  const request: InferRequest = {
    type: 'infer', requestId, functionId, model, operation: 'chat', stream: true, body: { model, messages, stream: true, max_tokens: 1 }, exclude: [],
    tokenizer: 'llmux-sim', promptTokens: ids.length,
    routing: { tokens: ids.length + 1, attempt: 1, ...(withTokenBlocks ? { tokenBlocks: tokenBlocks(ids, blockSize, 512), blockSize } : {}) },
  };
  gateway.publish(subjects.route(functionId), request, { reply: inbox });
  await waitFor(() => stack.router.decisions.get(requestId) !== undefined, 5000);
  sub.unsubscribe();
  return stack.router.decisions.get(requestId)?.[0];
}

describe('precise KV-aware routing', () => {
  it('sends a prompt to the engine whose KV events say it holds it, though no router ever routed it there', async () => {
    const messages = [{ role: 'user', content: words(300, 'kv') }];
    const before = stack.router.stats().kvBatches;
    // Computed on the last engine directly: only its KV events tell the router.
    const res = await fetch(`${sims[2]?.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages, max_tokens: 1 }) });
    expect(res.status).toBe(200);
    await res.text();
    await waitFor(() => stack.router.stats().kvBatches > before, 5000);
    const decision = await route('kv-1', messages, true);
    expect(decision).toMatchObject({ method: 'cost-model', index: 'kv-events', winner: 'kv-worker-2', outcome: 'dispatched' });
    const scores = decision?.candidates.map((c) => c.score) as number[];
    // 301 tokens: 19 blocks, 18 of them full and cached on kv-worker-2; the others must prefill all 19.
    expect(scores[2]).toBeLessThan(scores[0] as number);
    expect(scores[0]).toBe(scores[1]);
  });

  it('compares the hits it predicted with those the engine reports, per worker (the closed loop)', async () => {
    // kv-1 was predicted to find 18 of its 19 blocks (288 of 301 tokens) cached on kv-worker-2, and the engine found them.
    await waitFor(() => (stack.router.cacheHits.errors().find((e) => e.workerId === 'kv-worker-2')?.reported ?? 0) > 0, 5000);
    const mine = stack.router.cacheHits.errors().find((e) => e.workerId === 'kv-worker-2');
    expect(mine?.predicted).toBe(18 * 16);
    expect(mine?.reported).toBe(18 * 16);
    expect(mine?.error).toBe(0);
  });

  it('does the same for a request through the gateway\'s HTTP: the gateway names the prompt\'s token-id blocks', async () => {
    const messages = [{ role: 'user', content: words(300, 'http') }];
    const before = stack.router.stats().kvBatches;
    const direct = await fetch(`${sims[1]?.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages, max_tokens: 1 }) });
    await direct.text();
    await waitFor(() => stack.router.stats().kvBatches > before, 5000);
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', 'x-request-id': 'kv-http-1' },
      body: JSON.stringify({ model: stack.models[0], messages, max_tokens: 1 }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(stack.router.decisions.get('kv-http-1')?.[0]).toMatchObject({ method: 'cost-model', index: 'kv-events', winner: 'kv-worker-1', outcome: 'dispatched' });
  });

  it('matches a prompt approximately when the request carries no token-id blocks', async () => {
    const messages = [{ role: 'user', content: words(300, 'approx') }];
    const res = await fetch(`${sims[1]?.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages, max_tokens: 1 }) });
    await res.text();
    const decision = await route('approx-1', messages, false);
    expect(decision).toMatchObject({ index: 'approximate' });
    // The engine that holds the prompt gets no credit for it: its cost is the highest (all tie here, ties drawn at random).
    const scores = (decision?.candidates ?? []).map((c) => ({ id: c.workerId, score: c.score as number }));
    expect(scores).toHaveLength(3);
    expect(scores.find((c) => c.id === 'kv-worker-1')?.score).toBe(Math.max(...scores.map((c) => c.score)));
  });
});
