// Routers fed by workers' KV events, on one in-memory bus (the e2e test drives the simulator's real events over NATS).
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../observability/logger.js';
import type { KvEventBatch } from '../../protocol/kv-events.js';
import { createTokenCounter } from '../../tokenize/index.js';
import { MemoryBus } from '../../transport/memory/memory-transport.js';
import { subjects } from '../../transport/subjects.js';
import { FunctionCatalog, controlBucket } from '../../control/function-catalog.js';
import type { LlmConfig } from '../../control/function.schema.js';
import { startWorker } from '../worker/worker.js';
import type { InferRequest } from '../worker/worker.protocol.js';
import { type Router, startRouter } from './router.js';
import { oneWordEngine, workerDescriptor } from './router-test-support.js';
import { tokenBlocks } from './token-blocks.js';

const engine = oneWordEngine();

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});
const tokens = createTokenCounter();
afterAll(() => tokens.close());

const blockSize = 4;
const prompt = Array.from({ length: 40 }, (_, i) => 1000 + i);

async function setup(llmConfig: LlmConfig = { routingMethod: 'cost-model', routing: { kvBlockSize: blockSize, overlapWeight: 1, pendingPrefillWeight: 0 } }) {
  const bus = new MemoryBus();
  const catalog = new FunctionCatalog(await bus.connect('control').keyValue(controlBucket));
  await catalog.start();
  await catalog.putFunction({ id: 'fn', name: 'fn', functionType: 'LLM', createdAt: '2026-01-01' });
  await catalog.putVersion({ functionId: 'fn', versionId: 'v1', createdAt: '2026-01-01', models: [{ name: 'm', llmConfig }] });
  await vi.waitFor(() => expect(catalog.resolve('fn', 'm')).toBeDefined());
  const routers: Router[] = [];
  for (const id of ['r1', 'r2']) {
    const r = await startRouter({ transport: bus.connect(id), catalog, log: silentLogger(), requireWorkerBinding: false, routerId: id });
    stops.push(() => r.stop());
    routers.push(r);
  }
  for (let i = 0; i < 4; i++) {
    const w = await startWorker({ transport: bus.connect(`w${i}`), engine, tokens, log: silentLogger(),
      descriptor: workerDescriptor(`w${i}`, { engineKind: 'one-word', capacity: 8 }) });
    stops.push(() => w.stop());
  }
  await vi.waitFor(() => routers.forEach((r) => expect(r.table.size).toBe(4)));
  const publisher = bus.connect('kv');
  const publish = (batch: Omit<KvEventBatch, 'type' | 'model' | 'ts'>, subject = subjects.kvEvents('local', batch.workerId)): void =>
    publisher.publish(subject, { type: 'kv-events', model: 'm', ts: 0, ...batch } satisfies KvEventBatch);
  const gateway = bus.connect('gateway');
  const send = (id: string, routing: Partial<InferRequest['routing']> = {}): void => gateway.publish(subjects.route('fn'), {
    type: 'infer', requestId: id, functionId: 'fn', model: 'm', operation: 'chat', stream: true, body: { messages: [] }, exclude: [],
    tokenizer: 'cl100k', promptTokens: prompt.length, routing: { tokens: prompt.length + 16, attempt: 1, tokenBlocks: tokenBlocks(prompt, blockSize), blockSize, ...routing },
  } satisfies InferRequest, { reply: `inbox.${id}` });
  const decision = async (id: string) => {
    let record: ReturnType<Router['decisions']['get']>;
    await vi.waitFor(() => {
      record = routers.map((r) => r.decisions.get(id)).find((d) => d !== undefined);
      expect(record).toBeDefined();
    });
    return record?.[0];
  };
  return { routers, publish, send, decision };
}

const stored = (workerId: string, seq: number, blocks = 10): Omit<KvEventBatch, 'type' | 'model' | 'ts'> => ({
  workerId, blockSize, seq, events: [{ type: 'stored', blocks: Array.from({ length: blocks }, (_, b) => `${workerId}-${b}`), tokens: prompt.slice(0, blocks * blockSize) }],
});

describe('router - KV events', () => {
  it('every router of the cluster sends a prompt to the worker whose engine reported holding it, and records the index', async () => {
    const { routers, publish, send, decision } = await setup();
    publish(stored('w2', 1));
    await vi.waitFor(() => routers.forEach((r) => expect(r.stats().kvBatches).toBe(1)));
    send('q1');
    const record = await decision('q1');
    expect(record).toMatchObject({ method: 'cost-model', index: 'kv-events', winner: 'w2' });
    // w2 has nothing left to prefill; the others the whole prompt (10 blocks).
    expect(record?.candidates.map((c) => c.score)).toEqual([10, 10, 0, 10]);
  });

  it('forgets a worker\'s blocks after a gap in its batches', async () => {
    const { routers, publish, send, decision } = await setup();
    publish(stored('w2', 1));
    publish({ workerId: 'w2', blockSize, seq: 3, events: [] });
    await vi.waitFor(() => routers.forEach((r) => expect(r.stats().kvBatches).toBe(2)));
    send('g1');
    const record = await decision('g1');
    // Nothing is cached anywhere now: every candidate costs the whole prompt (10 blocks), w2 too.
    expect(record).toMatchObject({ index: 'kv-events' });
    expect(record?.candidates.map((c) => c.score)).toEqual([10, 10, 10, 10]);
  });

  it('routes a worker whose events use another block size on the approximate index', async () => {
    const { routers, publish, send, decision } = await setup();
    publish({ ...stored('w2', 1), blockSize: 8 });
    await vi.waitFor(() => routers.forEach((r) => expect(r.stats().kvBatches).toBe(1)));
    send('b1');
    expect(await decision('b1')).toMatchObject({ index: 'approximate' });
  });

  it('refuses a batch on another worker\'s subject', async () => {
    const { routers, publish, send, decision } = await setup();
    publish(stored('w2', 1), subjects.kvEvents('local', 'w3'));
    await vi.waitFor(() => routers.forEach((r) => expect(r.stats().kvRefused).toBe(1)));
    send('f1');
    expect(await decision('f1')).toMatchObject({ index: 'approximate' });
  });

  it('falls back to the approximate index when no engine sends events', async () => {
    const { send, decision } = await setup();
    send('a1');
    expect(await decision('a1')).toMatchObject({ method: 'cost-model', index: 'approximate' });
  });
});
