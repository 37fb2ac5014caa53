// The worker actor alone over the in-memory transport: token counting and engine load reporting.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineAdapter, EngineEvent, EngineLoad } from '../../engine-adapters/adapter.js';
import { LlmuxError } from '../../errors.js';
import { silentLogger } from '../../observability/logger.js';
import { createTokenCounter } from '../../tokenize/index.js';
import { MemoryBus } from '../../transport/memory/memory-transport.js';
import { subjects } from '../../transport/subjects.js';
import { parseReplyFrame, type ReplyFrame } from '../gateway/reply.protocol.js';
import { parseRegistryEvent, type RegistryEvent } from '../router/registry.protocol.js';
import { workerDescriptor } from '../router/router-test-support.js';
import { startWorker } from './worker.js';
import type { InferRequest } from './worker.protocol.js';

const tokens = createTokenCounter();
afterAll(() => tokens.close());
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

/** An engine that answers every request with `batches`, and reports `engineLoad`. */
function engineWith(batches: EngineEvent[][], engineLoad?: EngineLoad): EngineAdapter {
  return {
    kind: 'scripted',
    async *stream() {
      yield* batches;
    },
    health: async () => true,
    load: async () => engineLoad,
    close: async () => undefined,
  };
}

/** A worker on an in-memory bus, with its registry events and reply frames collected. */
async function start(engine: EngineAdapter, options: { acceptHoldMs?: number } = {}, onPublish?: (subject: string, body: unknown) => void) {
  const bus = new MemoryBus();
  const registry: RegistryEvent[] = [];
  const gateway = bus.connect('gateway');
  gateway.subscribe(subjects.registryOf('local'), (m) => {
    const e = parseRegistryEvent(m.body);
    if (e) registry.push(e);
  });
  const transport = bus.connect('w');
  if (onPublish) {
    const publish = transport.publish.bind(transport);
    transport.publish = (subject, body, opts) => {
      onPublish(subject, body);
      publish(subject, body, opts);
    };
  }
  const worker = await startWorker({ transport, engine, tokens, log: silentLogger(), ...options,
    descriptor: workerDescriptor('w', { engineKind: 'scripted', capacity: 4, heartbeatMs: 20 }) });
  stops.push(() => worker.stop());
  const frames = new Map<string, ReplyFrame[]>();
  // Workers sign their answers: `inbox.<id>.<worker>` (subjects.workerAnswer); kept by reply subject.
  gateway.subscribe('inbox.*.*', (m) => {
    const f = parseReplyFrame(m.body);
    const reply = m.subject.slice(0, m.subject.lastIndexOf('.'));
    if (f) frames.set(reply, [...(frames.get(reply) ?? []), f]);
  });
  const send = (id: string, stream = true): string => {
    const request: InferRequest = {
      type: 'infer', requestId: id, functionId: 'fn', model: 'm', operation: 'chat', stream,
      body: { messages: [] }, exclude: [], tokenizer: 'o200k', promptTokens: 5, routing: { key: 'k', tokens: 10, attempt: 1 },
    };
    gateway.publish(subjects.workerInfer('w'), request, { reply: `inbox.${id}` });
    return `inbox.${id}`;
  };
  const lastBeat = () => registry.findLast((e) => e.type === 'heartbeat') as Extract<RegistryEvent, { type: 'heartbeat' }> | undefined;
  return { worker, registry, frames, send, lastBeat };
}

/** One request through a worker on `engine`, to its end frame. */
async function run(engine: EngineAdapter) {
  const { registry, frames, send } = await start(engine);
  const inbox = send('r');
  await vi.waitFor(() => expect(frames.get(inbox)?.at(-1)?.type).toBe('end'));
  return { end: frames.get(inbox)?.at(-1) as Extract<ReplyFrame, { type: 'end' }>, registry };
}

describe('worker - token counts and engine load', () => {
  it('counts the completion itself when the engine reports no usage', async () => {
    const { end } = await run(engineWith([
      [{ type: 'delta', delta: { index: 0, role: 'assistant', text: 'Hello there,' } }],
      [{ type: 'delta', delta: { index: 0, text: ' general Kenobi.', finishReason: 'stop' } }],
    ]));
    expect(end.usage).toBeUndefined();
    expect(end.completionTokens).toBe((await tokens.countTexts('o200k', ['Hello there, general Kenobi.']))[0]);
  });

  it('counts generated tool-call text too, and merges usage the engine reports in parts', async () => {
    const { end } = await run(engineWith([
      [{ type: 'usage', usage: { promptTokens: 12 } }],
      [{ type: 'delta', delta: { index: 0, toolCalls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] } }],
      [{ type: 'usage', usage: { completionTokens: 9 } }],
    ]));
    expect(end.usage).toEqual({ promptTokens: 12, completionTokens: 9 });
    expect(end.completionTokens).toBe((await tokens.countTexts('o200k', ['get_weather{"city":"Oslo"}']))[0]);
  });

  it("carries the engine's own load in its heartbeats", async () => {
    const { registry } = await run(engineWith([[{ type: 'delta', delta: { index: 0, text: 'x' } }]], { running: 3, waiting: 2, kvCacheUsage: 0.42 }));
    await vi.waitFor(() => expect(registry.some((e) => e.type === 'heartbeat' && e.load.engine !== undefined)).toBe(true));
    const beat = registry.findLast((e) => e.type === 'heartbeat');
    expect(beat).toMatchObject({ load: { engine: { running: 3, waiting: 2, kvCacheUsage: 0.42 } } });
  });
});

describe('worker - what it reports for routing', () => {
  const failingEngine = (code: 'upstream_error' | 'invalid_request'): EngineAdapter => ({
    kind: 'scripted',
    // eslint-disable-next-line require-yield
    async *stream() {
      throw new LlmuxError({ code, message: `engine said ${code}`, retryable: code === 'upstream_error' });
    },
    health: async () => true,
    load: async () => undefined,
    close: async () => undefined,
  });


  it('counts engine 5xx answers as failures and 4xx answers as not, for the routers\' circuit breakers', async () => {
    const bad = await start(failingEngine('upstream_error'));
    for (const id of ['a', 'b', 'c']) bad.send(id);
    await vi.waitFor(() => expect(bad.lastBeat()?.load.outcomes).toEqual({ ok: 0, failed: 3 }));
    const rejected = await start(failingEngine('invalid_request'));
    for (const id of ['a', 'b']) rejected.send(id);
    await vi.waitFor(() => expect(rejected.frames.get('inbox.b')?.at(-1)?.type).toBe('error'));
    await vi.waitFor(() => expect(rejected.lastBeat()?.load.outcomes).toEqual({ ok: 2, failed: 0 }));
  });

  it('reports its TTFT, tokens per minute, a load event after each finish, and an engine that fails its health check', async () => {
    let healthy = true;
    const engine = { ...engineWith([[{ type: 'delta', delta: { index: 0, text: 'hi' } }], [{ type: 'usage', usage: { promptTokens: 5, completionTokens: 1 } }]]),
      health: async () => healthy };
    const w = await start(engine);
    w.send('a');
    await vi.waitFor(() => expect(w.registry.some((e) => e.type === 'load' && e.inFlight === 0)).toBe(true));
    await vi.waitFor(() => expect(w.lastBeat()?.load).toMatchObject({ ttftMs: expect.any(Number), usage: { tokensPerMinute: 6, requestsPerMinute: 1 }, healthy: true }));
    healthy = false;
    await vi.waitFor(() => expect(w.lastBeat()?.load.healthy).toBe(false));
  });

  it('when draining, says so at once and turns new requests back as retryable, while in-flight ones finish', async () => {
    const w = await start(engineWith([[{ type: 'delta', delta: { index: 0, text: 'x' } }]]));
    w.worker.drain();
    await vi.waitFor(() => expect(w.lastBeat()?.load.state).toBe('draining'));
    const inbox = w.send('late');
    await vi.waitFor(() => expect(w.frames.get(inbox)?.[0]).toMatchObject({ type: 'error', workerId: 'w', error: { code: 'no_active_backend', retryable: true } }));
  });
});

describe('worker - fewer messages per request', () => {
  /** An engine whose answer waits for `open()`; `called` once the worker asked it. */
  function gatedEngine() {
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const state = { called: false, open: () => open() };
    const engine: EngineAdapter = {
      ...engineWith([]),
      async *stream() {
        state.called = true;
        await gate;
        yield [{ type: 'delta', delta: { index: 0, role: 'assistant', text: 'hi', finishReason: 'stop' } }];
      },
    };
    return { engine, state };
  }

  it('holds `accepted` back to go out with the answer\'s first frame', async () => {
    const { engine, state } = gatedEngine();
    const w = await start(engine, { acceptHoldMs: 60_000 });
    const inbox = w.send('held', false);
    await vi.waitFor(() => expect(state.called).toBe(true));
    expect(w.frames.get(inbox)).toBeUndefined();
    state.open();
    await vi.waitFor(() => expect(w.frames.get(inbox)?.map((f) => f.type)).toEqual(['accepted', 'chunk', 'end']));
  });

  it('sends `accepted` alone once the hold is over when the engine has not answered', async () => {
    const { engine, state } = gatedEngine();
    const w = await start(engine, { acceptHoldMs: 5 });
    const inbox = w.send('slow');
    await vi.waitFor(() => expect(w.frames.get(inbox)?.map((f) => f.type)).toEqual(['accepted']));
    state.open();
    await vi.waitFor(() => expect(w.frames.get(inbox)?.at(-1)?.type).toBe('end'));
  });

  it('publishes the load event after a finish in the same event-loop turn as the request\'s end frame (one NATS flush)', async () => {
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    tick();
    const published: Array<{ subject: string; type: unknown; turn: number }> = [];
    const w = await start(engineWith([[{ type: 'delta', delta: { index: 0, text: 'x' } }]]), {}, (subject, body) => published.push({ subject, type: (body as { type?: unknown }).type, turn }));
    const inbox = w.send('one', false);
    await vi.waitFor(() => expect(w.registry.some((e) => e.type === 'load' && e.inFlight === 0)).toBe(true));
    ticking = false;
    const end = published.find((p) => p.subject === subjects.workerAnswer(inbox, 'w') && p.type === 'end');
    const load = published.find((p) => p.subject === subjects.registry('local', 'w') && p.type === 'load');
    expect(end?.turn).toBeDefined();
    expect(load?.turn).toBe(end?.turn);
  });

  it('sends two load events, not one per request, for requests that finish in the same event-loop turn', async () => {
    const { engine, state } = gatedEngine();
    const w = await start(engine, { acceptHoldMs: 0 });
    const inboxes = ['a', 'b', 'c', 'd', 'e'].map((id) => w.send(id, false));
    await vi.waitFor(() => expect(inboxes.every((i) => w.frames.get(i)?.[0]?.type === 'accepted')).toBe(true));
    const before = w.registry.filter((e) => e.type === 'load').length;
    state.open();
    await vi.waitFor(() => expect(inboxes.every((i) => w.frames.get(i)?.at(-1)?.type === 'end')).toBe(true));
    await vi.waitFor(() => expect(w.registry.findLast((e) => e.type === 'load')).toMatchObject({ inFlight: 0 }));
    await new Promise((r) => setTimeout(r, 20));
    expect(w.registry.filter((e) => e.type === 'load').length - before).toBe(2);
  });

  it('survives an answer frame that cannot go out in a failed request (the transport throws): no unhandled rejection, and the next request is served', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      let failing = true;
      const engine: EngineAdapter = {
        ...engineWith([]),
        async *stream() {
          if (failing) throw new LlmuxError({ code: 'upstream_error', retryable: true, message: 'engine broke' });
          yield [{ type: 'delta', delta: { index: 0, text: 'ok' } }];
        },
      };
      const w = await start(engine, { acceptHoldMs: 0 }, (_, body) => {
        if ((body as { type?: unknown }).type === 'error') throw new Error('connection closed');
      });
      w.send('broken', false);
      await vi.waitFor(() => expect(w.registry.findLast((e) => e.type === 'load')).toMatchObject({ inFlight: 0 }));
      await new Promise((r) => setTimeout(r, 20));
      failing = false;
      const inbox = w.send('next', false);
      await vi.waitFor(() => expect(w.frames.get(inbox)?.at(-1)?.type).toBe('end'));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});

describe('worker - a gateway it cannot reach', () => {
  it('aborts the engine request when a chunk frame cannot be sent, and counts it as orphaned in its heartbeats', async () => {
    let aborted: unknown;
    const engine: EngineAdapter = {
      kind: 'scripted',
      async *stream(_request, signal) {
        yield [{ type: 'delta', delta: { index: 0, role: 'assistant', text: 'Hello' } }];
        // A long answer: nothing more until the worker gives up on it.
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = signal.reason;
      },
      health: async () => true,
      load: async () => undefined,
      close: async () => undefined,
    };
    const w = await start(engine, {}, (subject, body) => {
      // The transport refuses the chunk, as NATS does a frame over its max_payload or on a closed connection.
      if (subject.startsWith('inbox.r.') && (body as { type?: string }).type === 'chunk') throw new Error('MAX_PAYLOAD_EXCEEDED');
    });
    w.send('r');
    await vi.waitFor(() => expect(aborted).toBe('orphaned'));
    expect(w.worker.stats().orphanedAborts).toBe(1);
    await vi.waitFor(() => expect(w.lastBeat()?.load.aborts).toEqual({ orphaned: 1, stalled: 0 }));
  });
});
