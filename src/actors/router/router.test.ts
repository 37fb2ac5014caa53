// Router and worker actors over the in-memory transport (unit level; the e2e tests use real NATS).
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineAdapter, EngineEvent, EngineRequest } from '../../engine-adapters/adapter.js';
import { silentLogger } from '../../observability/logger.js';
import { createTokenCounter } from '../../tokenize/index.js';
import { MemoryBus } from '../../transport/memory/memory-transport.js';
import { subjects } from '../../transport/subjects.js';
import type { Inbound } from '../../transport/transport.js';
import { FunctionCatalog, controlBucket } from '../../control/function-catalog.js';
import { parseReplyFrame, type ReplyFrame } from '../gateway/reply.protocol.js';
import { startWorker, type Worker } from '../worker/worker.js';
import type { InferFrame, InferRequest } from '../worker/worker.protocol.js';
import { encode } from '../../transport/codec.js';
import { type Router, startRouter } from './router.js';
import { workerDescriptor } from './router-test-support.js';

/** An engine that streams `tokens` words, one event per read, until aborted. */
class ScriptedEngine implements EngineAdapter {
  readonly kind = 'scripted';
  seen: EngineRequest[] = [];
  aborted = 0;
  constructor(readonly tokens: number, readonly delayMs = 0) {}
  async *stream(request: EngineRequest, signal: AbortSignal): AsyncIterable<EngineEvent[]> {
    this.seen.push(request);
    for (let i = 0; i < this.tokens; i++) {
      await new Promise((r) => setTimeout(r, this.delayMs));
      if (signal.aborted) {
        this.aborted++;
        throw new Error('aborted');
      }
      yield [{ type: 'delta', delta: { index: 0, text: `t${i}`, ...(i === this.tokens - 1 ? { finishReason: 'stop' } : {}) } }];
    }
    yield [{ type: 'usage', usage: { promptTokens: 3, completionTokens: this.tokens} }];
  }
  async health() {
    return true;
  }
  async load() {
    return undefined;
  }
  async close() {}
}

/**
 * An engine whose answers wait for their gates: the n-th request's first token comes when `open(n)`
 * is called, and its end only when it is aborted, so its run stays in flight.
 */
class GatedEngine extends ScriptedEngine {
  readonly #gates: Array<() => void> = [];
  readonly #opened = new Set<number>();
  override async *stream(request: EngineRequest, signal: AbortSignal): AsyncIterable<EngineEvent[]> {
    const n = this.seen.length;
    this.seen.push(request);
    await new Promise<void>((resolve) => {
      if (this.#opened.has(n)) return resolve();
      this.#gates[n] = resolve;
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    if (signal.aborted) throw new Error('aborted');
    yield [{ type: 'delta', delta: { index: 0, text: 't0' } }];
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    throw new Error('aborted');
  }

  open(n: number): void {
    this.#opened.add(n);
    this.#gates[n]?.();
  }
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const tokens = createTokenCounter();
afterAll(() => tokens.close());

async function setup(workerCount: number, engine: () => ScriptedEngine, descriptor: Partial<Parameters<typeof workerDescriptor>[1]> = {}) {
  const bus = new MemoryBus();
  const control = bus.connect('control');
  const catalog = new FunctionCatalog(await control.keyValue(controlBucket));
  await catalog.start();
  await catalog.putFunction({ id: 'fn', name: 'fn', functionType: 'LLM', createdAt: '2026-01-01' });
  await catalog.putVersion({ functionId: 'fn', versionId: 'v1', createdAt: '2026-01-01', models: [{ name: 'm', llmConfig: { routingMethod: 'round-robin' } }] });
  await vi.waitFor(() => expect(catalog.resolve('fn', 'm')).toBeDefined());
  const router: Router = await startRouter({ transport: bus.connect('router'), catalog, log: silentLogger(), requireWorkerBinding: false });
  stops.push(() => router.stop());
  const workers: Worker[] = [];
  const engines: ScriptedEngine[] = [];
  for (let i = 0; i < workerCount; i++) {
    const e = engine();
    engines.push(e);
    const w = await startWorker({
      transport: bus.connect(`w${i}`), engine: e, tokens, log: silentLogger(),
      descriptor: workerDescriptor(`w${i}`, { engineKind: 'scripted', capacity: 4, ...descriptor }),
    });
    workers.push(w);
    stops.push(() => w.stop());
  }
  await vi.waitFor(() => expect(router.table.size).toBe(workerCount));
  const gateway = bus.connect('gateway');
  const inbox = gateway.newInboxPrefix();
  const frames = new Map<string, ReplyFrame[]>();
  const noResponders: string[] = [];
  // `<inbox>.<id>` from the router, `<inbox>.<id>.<worker>` from a worker (signed, subjects.workerAnswer); kept by reply subject.
  gateway.subscribe(`${inbox}.>`, (m: Inbound) => {
    const reply = m.subject.split('.').slice(0, inbox.split('.').length + 1).join('.');
    if (m.noResponders) return void noResponders.push(reply);
    const f = parseReplyFrame(m.body);
    if (f) frames.set(reply, [...(frames.get(reply) ?? []), f]);
  });
  const send = (id: string, model = 'm', exclude: string[] = []) => {
    const request: InferRequest = { type: 'infer', requestId: id, functionId: 'fn', model, operation: 'chat', stream: true, body: { messages: [] }, exclude, tokenizer: 'cl100k',
      promptTokens: 3, routing: { key: id, tokens: 10, attempt: exclude.length + 1 } };
    gateway.publish(subjects.route('fn'), request, { reply: `${inbox}.${id}` });
    return `${inbox}.${id}`;
  };
  /** As the gateway sends it: the body as msgpack bytes. */
  const sendEncoded = (id: string, encodedBody: Uint8Array) => {
    const request: InferFrame = { type: 'infer', requestId: id, functionId: 'fn', model: 'm', operation: 'chat', stream: false, body: encodedBody, exclude: [],
      tokenizer: 'cl100k', promptTokens: 3, routing: { tokens: 10, attempt: 1 } };
    gateway.publish(subjects.route('fn'), request, { reply: `${inbox}.${id}` });
    return `${inbox}.${id}`;
  };
  return { router, workers, engines, gateway, frames, send, sendEncoded, noResponders };
}


describe('router and worker over the in-memory transport', () => {
  it('routes on the routing part alone: the body reaches the worker as the gateway encoded it, even one the router could not read', async () => {
    const { engines, gateway, frames, sendEncoded } = await setup(1, () => new ScriptedEngine(1));
    const body = { messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5 };
    const inbox = sendEncoded('encoded', encode(body));
    await vi.waitFor(() => expect(frames.get(inbox)?.at(-1)?.type).toBe('end'));
    expect(engines[0]?.seen[0]?.body).toEqual(body);
    // A body that does not decode is not the router's concern: it forwards the frame, the worker refuses it.
    const forwarded: Inbound[] = [];
    gateway.subscribe(subjects.workerInfer('w0'), (m) => forwarded.push(m));
    const bad = sendEncoded('undecodable', encode(body).subarray(0, 5));
    await vi.waitFor(() => expect(forwarded.map((m) => m.reply)).toContain(bad));
    expect(engines[0]?.seen).toHaveLength(1);
  });

  it('learns workers from their registrations', async () => {
    const { router } = await setup(3, () => new ScriptedEngine(2));
    expect(router.table.size).toBe(3);
  });

  it('streams accepted, numbered chunks and an end with usage to the gateway inbox', async () => {
    const { frames, send } = await setup(1, () => new ScriptedEngine(3));
    const inbox = send('r1');
    await vi.waitFor(() => expect(frames.get(inbox)?.at(-1)?.type).toBe('end'));
    const got = frames.get(inbox) ?? [];
    expect(got.map((f) => f.type)).toEqual(['accepted', 'chunk', 'chunk', 'chunk', 'end']);
    expect(got.filter((f) => f.type === 'chunk').map((f) => (f as { seq: number }).seq)).toEqual([0, 1, 2]);
    expect(got.at(-1)).toMatchObject({ type: 'end', seq: 3, usage: { completionTokens: 3 } });
    // The worker counts the output itself too (t0t1t2 in cl100k), for engines that report nothing.
    expect((got.at(-1) as { completionTokens: number }).completionTokens).toBe(await tokens.countTexts('cl100k', ['t0t1t2']).then((c) => c[0]));
  });

  it('spreads requests round-robin over the workers', async () => {
    const { engines, send } = await setup(3, () => new ScriptedEngine(1));
    for (let i = 0; i < 9; i++) send(`r${i}`);
    await vi.waitFor(() => expect(engines.map((e) => e.seen.length)).toEqual([3, 3, 3]));
  });

  it('skips workers the gateway excluded, and says no_active_backend when none is left', async () => {
    const { engines, frames, send } = await setup(2, () => new ScriptedEngine(1));
    send('a', 'm', ['w0']);
    const inbox = send('b', 'm', ['w0', 'w1']);
    await vi.waitFor(() => expect(engines.map((e) => e.seen.length)).toEqual([0, 1]));
    await vi.waitFor(() => expect(frames.get(inbox)).toBeDefined());
    expect(frames.get(inbox)?.[0]).toMatchObject({ type: 'error', error: { code: 'no_active_backend', retryable: true } });
  });

  it('answers no_eligible_candidates for a model the catalog does not know', async () => {
    const { frames, send } = await setup(1, () => new ScriptedEngine(1));
    const inbox = send('x', 'unknown');
    await vi.waitFor(() => expect(frames.get(inbox)).toBeDefined());
    expect(frames.get(inbox)?.[0]).toMatchObject({ type: 'error', error: { code: 'no_eligible_candidates' } });
  });

  it('aborts the engine request on cancel and confirms it', async () => {
    const { engines, frames, send, gateway } = await setup(1, () => new ScriptedEngine(1000, 2));
    const inbox = send('long');
    await vi.waitFor(() => expect(frames.get(inbox)?.some((f) => f.type === 'chunk')).toBe(true));
    gateway.publish(subjects.workerCancel('w0'), { type: 'cancel', requestId: 'long', reply: inbox });
    await vi.waitFor(() => expect(frames.get(inbox)?.at(-1)).toEqual({ type: 'cancelled', requestId: 'long' }));
    expect(engines[0]?.aborted).toBe(1);
    expect(frames.get(inbox)?.some((f) => f.type === 'end')).toBe(false);
  });

  it('counts a dispatch\'s prompt tokens as prefill queued on its worker until the engine\'s first output, and a peer router\'s too', async () => {
    // Heartbeats a minute apart: only the worker's load events report. No answer ends during the test.
    const gated: GatedEngine[] = [];
    const { router, gateway, send } = await setup(1, () => {
      const engine = new GatedEngine(1);
      gated.push(engine);
      return engine;
    }, { heartbeatMs: 60_000 });
    const engine = gated[0] as GatedEngine;
    const queued = (): number => router.table.fleet('fn').pendingPrefill[0] as number;
    send('p1'); // 3 prompt tokens; round-robin predicts no cache hit, so all 3 are to prefill
    send('p2');
    await vi.waitFor(() => expect(engine.seen.length).toBe(2));
    expect(router.table.get('w0')?.prefillSinceReport).toBe(6);
    gateway.publish(subjects.routed('local'), { type: 'routed', routerId: 'peer', workerId: 'w0', tokens: 50, prefillTokens: -1 });
    gateway.publish(subjects.routed('local'), { type: 'routed', routerId: 'peer', workerId: 'w0', tokens: 50, prefillTokens: 40 });
    // The malformed event (a negative count) is refused, the other one counted.
    await vi.waitFor(() => expect(router.table.get('w0')?.dispatchedSinceReport).toBe(3));
    expect(queued()).toBe(46);
    // p1's first output: the worker's load event says p2's 3 tokens are still to prefill, and replaces the router's own count.
    engine.open(0);
    await vi.waitFor(() => expect(router.table.get('w0')?.load.prefilling).toBe(3));
    expect(router.table.get('w0')?.prefillSinceReport).toBe(0);
    expect(queued()).toBe(3);
    engine.open(1);
    await vi.waitFor(() => expect(queued()).toBe(0));
    expect(router.table.get('w0')?.load.prefilling).toBe(0);
  });

  it('drops a worker that deregisters', async () => {
    const { router, workers } = await setup(2, () => new ScriptedEngine(1));
    await workers[0]?.stop();
    await vi.waitFor(() => expect(router.table.size).toBe(1));
  });
});
