// Two clusters' routers on one in-memory bus: summaries, spill, one hop (the e2e test uses real NATS).
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../observability/logger.js';
import { createTokenCounter } from '../../tokenize/index.js';
import { MemoryBus } from '../../transport/memory/memory-transport.js';
import { subjects } from '../../transport/subjects.js';
import { FunctionCatalog, controlBucket } from '../../control/function-catalog.js';
import type { LlmConfig } from '../../control/function.schema.js';
import { parseReplyFrame, type ReplyFrame } from '../gateway/reply.protocol.js';
import { startWorker } from '../worker/worker.js';
import type { InferRequest } from '../worker/worker.protocol.js';
import { type Router, startRouter } from './router.js';
import { oneWordEngine, workerDescriptor } from './router-test-support.js';

const engine = oneWordEngine;

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});
const tokens = createTokenCounter();
afterAll(() => tokens.close());

async function setup(llmConfig: LlmConfig = {}) {
  const bus = new MemoryBus();
  const catalog = new FunctionCatalog(await bus.connect('control').keyValue(controlBucket));
  await catalog.start();
  await catalog.putFunction({ id: 'fn', name: 'fn', functionType: 'LLM', createdAt: '2026-01-01' });
  await catalog.putVersion({ functionId: 'fn', versionId: 'v1', createdAt: '2026-01-01',
    models: [{ name: 'm', llmConfig }, { name: 'm2', llmConfig }] });
  await vi.waitFor(() => expect(catalog.resolve('fn', 'm2')).toBeDefined());
  const router = async (cluster: string, takeGatewayRequests: boolean): Promise<Router> => {
    const r = await startRouter({ transport: bus.connect(`router-${cluster}`), catalog, log: silentLogger(), requireWorkerBinding: false,
      cluster, routerId: `router-${cluster}`, summaryIntervalMs: 100, takeGatewayRequests });
    stops.push(() => r.stop());
    return r;
  };
  const a = await router('a', true);
  const b = await router('b', false);
  const served = { a: [] as string[], b: [] as string[] };
  const worker = async (cluster: 'a' | 'b', model: string) => {
    const w = await startWorker({ transport: bus.connect(`w-${cluster}-${model}`), engine: engine(served[cluster]), tokens, log: silentLogger(),
      descriptor: workerDescriptor(`w-${cluster}-${model}`, { cluster, model, engineKind: 'one-word', capacity: 4, heartbeatMs: 100 }) });
    stops.push(() => w.stop());
  };
  const gateway = bus.connect('gateway');
  const frames = new Map<string, ReplyFrame[]>();
  // `inbox.<id>` from a router, `inbox.<id>.<worker>` from a worker (signed, subjects.workerAnswer); kept by reply subject.
  gateway.subscribe('inbox.>', (m) => {
    const f = parseReplyFrame(m.body);
    const reply = m.subject.split('.').slice(0, 2).join('.');
    if (f) frames.set(reply, [...(frames.get(reply) ?? []), f]);
  });
  const request = (id: string, model = 'm'): InferRequest => ({ type: 'infer', requestId: id, functionId: 'fn', model, operation: 'chat', stream: true,
    body: { messages: [] }, exclude: [], tokenizer: 'cl100k', promptTokens: 3, routing: { tokens: 10, attempt: 1 } });
  const send = (id: string, subject = subjects.route('fn'), model = 'm'): string => {
    gateway.publish(subject, request(id, model), { reply: `inbox.${id}` });
    return `inbox.${id}`;
  };
  return { a, b, worker, served, frames, send };
}

describe('router - across clusters', () => {
  it('spills a request to the cluster with room when its own has no worker, and the worker there answers the gateway', async () => {
    const { a, b, worker, served, frames, send } = await setup();
    await worker('b', 'm');
    await vi.waitFor(() => expect(a.clusters.candidates('fn', 'm', Date.now())[0]?.free).toBe(4));
    const inbox = send('r1');
    await vi.waitFor(() => expect(frames.get(inbox)?.at(-1)?.type).toBe('end'));
    expect(frames.get(inbox)?.[0]).toMatchObject({ type: 'accepted', workerId: 'w-b-m' });
    expect(served.b).toEqual(['r1']);
    expect(a.decisions.get('r1')).toEqual([expect.objectContaining({ cluster: 'a', locality: 'prefer', outcome: 'spilled', candidates: [],
      spill: { cluster: 'b', reason: 'local-absent' }, remoteCandidates: [expect.objectContaining({ cluster: 'b', ready: 1, capacity: 4, free: 4 })] })]);
    expect(b.decisions.get('r1')).toEqual([expect.objectContaining({ cluster: 'b', locality: 'strict', spilledFrom: 'a', outcome: 'dispatched', winner: 'w-b-m' })]);
    expect(a.stats()).toMatchObject({ spilledOut: 1, spilledIn: 0 });
    expect(b.stats()).toMatchObject({ spilledOut: 0, spilledIn: 1 });
    // Neither router heard the other cluster's worker: a knows it only from b's summaries.
    expect(a.table.size).toBe(0);
    expect(a.stats().summaries).toBeGreaterThan(0);
  });

  it('keeps a strict model in its cluster: no_active_backend, retryable, and nothing spilled', async () => {
    const { a, worker, frames, send } = await setup({ locality: 'strict' });
    await worker('b', 'm');
    await vi.waitFor(() => expect(a.clusters.candidates('fn', 'm', Date.now())).toHaveLength(1));
    const inbox = send('s1');
    await vi.waitFor(() => expect(frames.get(inbox)).toBeDefined());
    expect(frames.get(inbox)?.[0]).toMatchObject({ type: 'error', error: { code: 'no_active_backend', retryable: true } });
    expect(a.stats().spilledOut).toBe(0);
    expect(a.decisions.get('s1')?.[0]).toMatchObject({ locality: 'strict', outcome: 'no_active_backend' });
    expect(a.decisions.get('s1')?.[0]?.remoteCandidates).toBeUndefined();
  });

  it('never spills a spilled request again: without a worker of its own the receiving cluster answers no_active_backend', async () => {
    const { a, b, worker, served, frames, send } = await setup();
    // Cluster a has room for m2, and b knows it from a's summaries; b has no m2 worker.
    await worker('a', 'm2');
    await vi.waitFor(() => expect(b.clusters.candidates('fn', 'm2', Date.now())[0]?.free).toBe(4));
    const inbox = send('p1', subjects.spill('b', 'fn', 'a'), 'm2');
    await vi.waitFor(() => expect(frames.get(inbox)).toBeDefined());
    expect(frames.get(inbox)?.[0]).toMatchObject({ type: 'error', error: { code: 'no_active_backend', retryable: true } });
    expect(b.stats()).toMatchObject({ spilledIn: 1, spilledOut: 0 });
    expect(b.decisions.get('p1')?.[0]).toMatchObject({ cluster: 'b', spilledFrom: 'a', locality: 'strict', outcome: 'no_active_backend' });
    expect(served.a).toEqual([]);
    expect(a.stats().spilledIn).toBe(0);
  });
});
