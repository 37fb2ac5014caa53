// The connection behaviour of the OpenAI-compatible base: aborts and deadlines close the engine
// connection, finished streams keep it alive, the key and the paths reach the engine, health checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineAdapter, EngineRequest } from './adapter.js';
import { fixture, ReplayServer } from './fixtures/replay-server.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

let server: ReplayServer;
const adapters: EngineAdapter[] = [];

beforeAll(async () => {
  server = await ReplayServer.start();
});

afterAll(async () => {
  await Promise.all(adapters.map((a) => a.close()));
  await server.close();
});

function adapter(options: { apiKey?: string; baseUrl?: string; prefix?: string } = {}): EngineAdapter {
  const created = createOpenAiCompatibleAdapter({
    kind: 'test-engine',
    baseUrl: options.baseUrl ?? server.baseUrl + (options.prefix ?? ''),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
  });
  adapters.push(created);
  return created;
}

const request = (extra: Partial<EngineRequest> = {}): EngineRequest => ({
  operation: 'chat',
  stream: true,
  model: 'm',
  requestId: 'r1',
  body: { messages: [{ role: 'user', content: 'hi' }] },
  ...extra,
});

async function drain(stream: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const _ of stream) {
      // read to the end
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('openai-compatible adapter - connections', () => {
  it('closes the engine connection when the caller aborts mid-stream, rejecting with its reason', async () => {
    server.reply = { status: 200, body: fixture('vllm', 'chat-cut.sse'), hold: true };
    const before = server.closedEarly;
    const controller = new AbortController();
    const reason = new Error('client went away');
    let batches = 0;
    const error = await (async () => {
      for await (const _ of adapter().stream(request(), controller.signal)) {
        batches++;
        controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(batches).toBe(1);
    expect(error).toBe(reason);
    expect(await server.waitClosedEarly(before + 1)).toBe(before + 1);
  });

  it('closes the engine connection when the caller stops reading early', async () => {
    server.reply = { status: 200, body: fixture('vllm', 'chat-cut.sse'), hold: true };
    const before = server.closedEarly;
    for await (const _ of adapter().stream(request(), new AbortController().signal)) break;
    expect(await server.waitClosedEarly(before + 1)).toBe(before + 1);
  });

  it('does not reach the engine when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already gone'));
    const count = server.received.length;
    const error = await drain(adapter().stream(request(), controller.signal));
    expect((error as Error).message).toBe('already gone');
    await new Promise((r) => setTimeout(r, 50));
    expect(server.received.length).toBe(count);
  });

  it('turns a deadline passing mid-stream into a retryable timeout and closes the connection', async () => {
    server.reply = { status: 200, body: fixture('vllm', 'chat-cut.sse'), hold: true };
    const before = server.closedEarly;
    const error = await drain(adapter().stream(request({ deadline: Date.now() + 150 }), new AbortController().signal));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(await server.waitClosedEarly(before + 1)).toBe(before + 1);
  });

  it('turns a deadline passing before the engine answers into a timeout and closes the connection', async () => {
    server.reply = { status: 200, body: '', silent: true };
    const before = server.closedEarly;
    const error = await drain(adapter().stream(request({ deadline: Date.now() + 150 }), new AbortController().signal));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(await server.waitClosedEarly(before + 1)).toBe(before + 1);
  });

  it('fails a request whose deadline has already passed without reaching the engine', async () => {
    const count = server.received.length;
    const error = await drain(adapter().stream(request({ deadline: Date.now() - 1 }), new AbortController().signal));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(server.received.length).toBe(count);
  });

  it('keeps the connection alive across finished streams', async () => {
    server.reply = { status: 200, body: fixture('vllm', 'chat-stream-usage.sse'), piece: 40 };
    const engine = adapter();
    const before = { received: server.received.length, closedEarly: server.closedEarly };
    for (let i = 0; i < 3; i++) {
      expect(await drain(engine.stream(request(), new AbortController().signal))).toBeUndefined();
      // undici hands the socket back to its pool a moment after the body ends; a request sent in the
      // very same tick would open a second connection.
      await new Promise((r) => setTimeout(r, 10));
    }
    const ports = new Set(server.received.slice(before.received).map((r) => r.clientPort));
    expect(ports.size).toBe(1);
    expect(server.closedEarly).toBe(before.closedEarly);
  });

  it('sends the bearer key when given, and none otherwise', async () => {
    server.reply = { status: 200, body: fixture('vllm', 'chat-no-usage.sse') };
    await drain(adapter({ apiKey: 'sk-engine' }).stream(request(), new AbortController().signal));
    expect(server.last?.headers.authorization).toBe('Bearer sk-engine');
    await drain(adapter().stream(request(), new AbortController().signal));
    expect(server.last?.headers.authorization).toBeUndefined();
  });

  it('keeps a path prefix of the base URL', async () => {
    server.reply = { status: 200, body: fixture('vllm', 'chat-no-usage.sse') };
    await drain(adapter({ prefix: '/engines/a/' }).stream(request({ operation: 'completion' }), new AbortController().signal));
    expect(server.last?.path).toBe('/engines/a/v1/completions');
  });

  it('throws a retryable upstream_error when the engine is unreachable', async () => {
    const dead = adapter({ baseUrl: 'http://127.0.0.1:1' });
    const error = await drain(dead.stream(request(), new AbortController().signal));
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect((error as Error).message).toContain('test-engine engine request failed');
  });

  it('reports health from GET /health', async () => {
    const engine = adapter();
    server.healthStatus = 200;
    expect(await engine.health()).toBe(true);
    expect(server.last).toMatchObject({ method: 'GET', path: '/health' });
    server.healthStatus = 503;
    expect(await engine.health()).toBe(false);
    expect(await adapter({ baseUrl: 'http://127.0.0.1:1' }).health()).toBe(false);
  });
});
