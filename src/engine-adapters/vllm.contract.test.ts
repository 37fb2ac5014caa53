// The vLLM adapter replayed against recorded-style transcripts of vLLM's wire format, served over
// real HTTP on loopback, written in small pieces so events and UTF-8 characters split across reads.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmuxError } from '../errors.js';
import type { EngineAdapter, EngineEvent, EngineRequest } from './adapter.js';
import { createEngineAdapter } from './registry.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/vllm/${name}`, import.meta.url));

interface Reply {
  status: number;
  body: Buffer;
  /** Bytes per write; small values split events and characters across reads. */
  piece: number;
  /** Destroy the socket after the body instead of ending the response. */
  cut?: boolean;
  /** Keep the response open after the body (for abort tests). */
  hold?: boolean;
}

let server: Server;
let baseUrl: string;
let reply: Reply;
let lastBody: Record<string, unknown> | undefined;
let lastPath = '';
let clientClosed = 0;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    lastBody = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
    lastPath = req.url ?? '';
    res.on('close', () => {
      if (!res.writableFinished) clientClosed++;
    });
    res.writeHead(reply.status, { 'content-type': reply.status === 200 ? 'text/event-stream' : 'application/json' });
    for (let i = 0; i < reply.body.length; i += reply.piece) {
      res.write(reply.body.subarray(i, i + reply.piece));
      await new Promise((r) => setImmediate(r));
    }
    if (reply.hold) return;
    if (reply.cut) res.destroy();
    else res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => {
  server.closeAllConnections();
  server.close(() => r());
}));

const request = (operation: 'chat' | 'completion' = 'chat', stream = true): EngineRequest => ({
  operation,
  stream,
  model: 'meta-llama/Llama-3.1-8B-Instruct',
  requestId: 'r1',
  body: operation === 'chat' ? { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 } : { prompt: 'The capital of France is' },
});

async function collect(adapter: EngineAdapter, req: EngineRequest, signal = new AbortController().signal): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const batch of adapter.stream(req, signal)) out.push(...batch);
  return out;
}

const text = (events: EngineEvent[]) => events.map((e) => (e.type === 'delta' ? e.delta.text ?? '' : '')).join('');

describe('vllm adapter - contract against recorded transcripts', () => {
  const adapter = () => createEngineAdapter('vllm', { baseUrl });

  for (const piece of [1, 7, 4096]) {
    it(`normalizes a chat stream with include_usage, written ${piece} byte(s) at a time`, async () => {
      reply = { status: 200, body: fixture('chat-stream-usage.sse'), piece };
      const events = await collect(adapter(), request());
      expect(text(events)).toBe('Hello wörld €!');
      expect(events[0]).toEqual({ type: 'delta', delta: { index: 0, role: 'assistant' } });
      expect(events.filter((e) => e.type === 'delta').at(-1)).toEqual({ type: 'delta', delta: { index: 0, text: '!', finishReason: 'stop' } });
      expect(events.at(-1)).toEqual({ type: 'usage', usage: { promptTokens: 12, completionTokens: 4, totalTokens: 16, cachedTokens: 8 } });
    });
  }

  it('sends the bare model, stream: true and include_usage to the engine', async () => {
    reply = { status: 200, body: fixture('chat-stream-usage.sse'), piece: 4096 };
    await collect(adapter(), request());
    expect(lastPath).toBe('/v1/chat/completions');
    expect(lastBody).toMatchObject({ model: 'meta-llama/Llama-3.1-8B-Instruct', stream: true, stream_options: { include_usage: true }, max_tokens: 4 });
  });

  it('normalizes a completions stream', async () => {
    reply = { status: 200, body: fixture('completion-stream.sse'), piece: 5 };
    const events = await collect(adapter(), request('completion'));
    expect(lastPath).toBe('/v1/completions');
    expect(text(events)).toBe(' Paris.');
    expect(events.at(-1)).toEqual({ type: 'usage', usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 } });
  });

  it('ignores keep-alive comments and CRLF line ends', async () => {
    reply = { status: 200, body: fixture('chat-keepalive-crlf.sse'), piece: 3 };
    const events = await collect(adapter(), request());
    expect(text(events)).toBe('ok');
  });

  it('streams without usage when the engine sends none', async () => {
    reply = { status: 200, body: fixture('chat-no-usage.sse'), piece: 4096 };
    const events = await collect(adapter(), request());
    expect(events).toEqual([{ type: 'delta', delta: { index: 0, role: 'assistant', text: 'Hi', finishReason: 'stop' } }]);
  });

  it('maps a 400 in the current error shape to invalid_request naming the field', async () => {
    reply = { status: 400, body: fixture('error-400-current.json'), piece: 4096 };
    const error = await collect(adapter(), request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmuxError);
    expect(error).toMatchObject({ code: 'invalid_request', retryable: false, param: 'max_tokens', upstreamStatus: 400 });
    expect((error as Error).message).toContain('maximum context length');
  });

  it('maps a 400 in the legacy flat error shape', async () => {
    reply = { status: 400, body: fixture('error-400-legacy.json'), piece: 4096 };
    const error = await collect(adapter(), request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_request', retryable: false });
    expect((error as Error).message).toContain('Field required');
  });

  it('maps a 500 to a retryable upstream_error', async () => {
    reply = { status: 500, body: fixture('error-500.json'), piece: 4096 };
    const error = await collect(adapter(), request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true, upstreamStatus: 500 });
    expect((error as Error).message).toContain('EngineCore');
  });

  it('throws upstream_error for an error event after a 200, after yielding what came before', async () => {
    reply = { status: 200, body: fixture('chat-error-after-200.sse'), piece: 4096 };
    const seen: EngineEvent[] = [];
    const error = await (async () => {
      for await (const batch of adapter().stream(request(), new AbortController().signal)) seen.push(...batch);
    })().catch((e: unknown) => e);
    expect(text(seen)).toBe('Par');
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect((error as Error).message).toContain('CUDA out of memory');
  });

  it('throws upstream_error when the connection is cut before [DONE]', async () => {
    reply = { status: 200, body: fixture('chat-cut.sse'), piece: 50, cut: true };
    const seen: EngineEvent[] = [];
    const error = await (async () => {
      for await (const batch of adapter().stream(request(), new AbortController().signal)) seen.push(...batch);
    })().catch((e: unknown) => e);
    expect(text(seen)).toBe('half');
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect((error as Error).message).toMatch(/cut/);
  });

  it('throws a retryable upstream_error when the engine is unreachable', async () => {
    const dead = createEngineAdapter('vllm', { baseUrl: 'http://127.0.0.1:1' });
    const error = await collect(dead, request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(await dead.health()).toBe(false);
  });

  it('closes the engine connection when the caller aborts mid-stream', async () => {
    reply = { status: 200, body: fixture('chat-cut.sse'), piece: 4096, hold: true };
    const before = clientClosed;
    const controller = new AbortController();
    const error = await (async () => {
      for await (const _ of adapter().stream(request(), controller.signal)) controller.abort();
    })().catch((e: unknown) => e);
    expect(error).toBeDefined();
    const started = Date.now();
    while (clientClosed === before && Date.now() - started < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(clientClosed).toBe(before + 1);
  });

  it('refuses an unknown engine kind, naming the known ones', () => {
    expect(() => createEngineAdapter('nope', { baseUrl })).toThrow(/known engines are vllm/);
  });

  it('asks for the whole answer when the client does not stream, and yields it as one batch', async () => {
    reply = { status: 200, body: fixture('chat-whole.json'), piece: 5 };
    const batches: EngineEvent[][] = [];
    for await (const batch of adapter().stream(request('chat', false), new AbortController().signal)) batches.push(batch);
    expect(lastBody?.stream).toBe(false);
    expect(lastBody?.stream_options).toBeUndefined();
    expect(batches).toEqual([[
      { type: 'delta', delta: { index: 0, role: 'assistant', text: 'Paris is the capital.', finishReason: 'stop' } },
      { type: 'usage', usage: { promptTokens: 9, completionTokens: 5, totalTokens: 14 } },
    ]]);
  });
});
