// The vLLM adapter replayed against recorded-style transcripts of vLLM's wire format, served over
// real HTTP on loopback, written in small pieces so events and UTF-8 characters split across reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmuxError } from '../errors.js';
import type { EngineAdapter, EngineEvent, EngineRequest } from './adapter.js';
import { engineFailureDetail } from './engine-errors.js';
import { fixture, ReplayServer } from './fixtures/replay-server.js';
import { createEngineAdapter, engineKinds, isEngineKind } from './registry.js';

let server: ReplayServer;
let adapter: EngineAdapter;

beforeAll(async () => {
  server = await ReplayServer.start();
  adapter = createEngineAdapter('vllm', { baseUrl: server.baseUrl });
});

afterAll(async () => {
  await adapter.close();
  await server.close();
});

const vllm = (name: string) => fixture('vllm', name);

const request = (operation: 'chat' | 'completion' = 'chat', stream = true): EngineRequest => ({
  operation,
  stream,
  model: 'meta-llama/Llama-3.1-8B-Instruct',
  requestId: 'r1',
  body: operation === 'chat' ? { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 } : { prompt: 'The capital of France is' },
});

/** Every event the adapter yields, and the error it ends with (undefined when it ends cleanly). */
async function run(req: EngineRequest = request()): Promise<{ events: EngineEvent[]; error: unknown }> {
  const events: EngineEvent[] = [];
  try {
    for await (const batch of adapter.stream(req, new AbortController().signal)) events.push(...batch);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

const text = (events: EngineEvent[]) => events.map((e) => (e.type === 'delta' ? (e.delta.text ?? '') : '')).join('');

describe('vllm adapter - contract against recorded transcripts', () => {
  for (const piece of [1, 7, 4096]) {
    it(`normalizes a chat stream with include_usage, written ${piece} byte(s) at a time`, async () => {
      server.reply = { status: 200, body: vllm('chat-stream-usage.sse'), piece };
      const { events, error } = await run();
      expect(error).toBeUndefined();
      expect(text(events)).toBe('Hello wörld €!');
      expect(events[0]).toEqual({ type: 'delta', delta: { index: 0, role: 'assistant' } });
      expect(events.filter((e) => e.type === 'delta').at(-1)).toEqual({ type: 'delta', delta: { index: 0, text: '!', finishReason: 'stop' } });
      expect(events.at(-1)).toEqual({ type: 'usage', usage: { promptTokens: 12, completionTokens: 4, cachedTokens: 8 } });
    });
  }

  it('sends the bare model, stream: true and include_usage to the engine, keeping the client fields', async () => {
    server.reply = { status: 200, body: vllm('chat-stream-usage.sse') };
    await run();
    expect(server.last?.path).toBe('/v1/chat/completions');
    expect(server.last?.body).toEqual({
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('normalizes a completions stream', async () => {
    server.reply = { status: 200, body: vllm('completion-stream.sse'), piece: 5 };
    const { events, error } = await run(request('completion'));
    expect(error).toBeUndefined();
    expect(server.last?.path).toBe('/v1/completions');
    expect(server.last?.body).toMatchObject({ prompt: 'The capital of France is', stream: true, stream_options: { include_usage: true } });
    expect(text(events)).toBe(' Paris.');
    expect(events.filter((e) => e.type === 'delta').at(-1)).toEqual({ type: 'delta', delta: { index: 0, text: '.', finishReason: 'length' } });
    expect(events.at(-1)).toEqual({ type: 'usage', usage: { promptTokens: 5, completionTokens: 2 } });
  });

  it('ignores keep-alive comments and CRLF line ends', async () => {
    server.reply = { status: 200, body: vllm('chat-keepalive-crlf.sse'), piece: 3 };
    const { events, error } = await run();
    expect(error).toBeUndefined();
    expect(text(events)).toBe('ok');
  });

  it('passes reasoning and tool calls through, and a finish reason on an empty delta', async () => {
    server.reply = { status: 200, body: vllm('chat-tool-calls.sse'), piece: 64 };
    const { events, error } = await run();
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'delta', delta: { index: 0, role: 'assistant' } },
      { type: 'delta', delta: { index: 0, reasoning: 'The user wants the weather.' } },
      { type: 'delta', delta: { index: 0, toolCalls: [{ id: 'chatcmpl-tool-5b1e', type: 'function', index: 0, function: { name: 'get_weather' } }] } },
      { type: 'delta', delta: { index: 0, toolCalls: [{ index: 0, function: { arguments: '{"city": "Paris"}' } }] } },
      { type: 'delta', delta: { index: 0, finishReason: 'tool_calls' } },
      { type: 'usage', usage: { promptTokens: 180, completionTokens: 34 } },
    ]);
  });

  it('streams without usage when the engine sends none', async () => {
    server.reply = { status: 200, body: vllm('chat-no-usage.sse') };
    const { events } = await run();
    expect(events).toEqual([{ type: 'delta', delta: { index: 0, role: 'assistant', text: 'Hi', finishReason: 'stop' } }]);
  });

  it('accepts a [DONE] that lacks its closing blank line when the body ends cleanly', async () => {
    server.reply = { status: 200, body: vllm('chat-no-usage.sse').toString().replace(/\n\n$/, '') };
    const { events, error } = await run();
    expect(error).toBeUndefined();
    expect(text(events)).toBe('Hi');
  });

  it('maps a 400 in the current error shape to invalid_request naming the field', async () => {
    server.reply = { status: 400, body: vllm('error-400-current.json') };
    const { error } = await run();
    expect(error).toBeInstanceOf(LlmuxError);
    expect(error).toMatchObject({ code: 'invalid_request', retryable: false, param: 'max_tokens', upstreamStatus: 400 });
    expect((error as Error).message).toBe("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.");
  });

  it('maps a 400 in the legacy flat error shape', async () => {
    server.reply = { status: 400, body: vllm('error-400-legacy.json') };
    const { error } = await run();
    expect(error).toMatchObject({ code: 'invalid_request', retryable: false, upstreamStatus: 400, param: undefined });
    expect((error as Error).message).toContain('Field required');
  });

  it('maps a 500 to a retryable upstream_error', async () => {
    server.reply = { status: 500, body: vllm('error-500.json') };
    const { error } = await run();
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true, upstreamStatus: 500 });
    // The engine's words go to the log only (engine-errors.ts); the client reads llmux's.
    expect(engineFailureDetail(error)).toContain('EngineCore encountered an issue.');
    expect((error as Error).message).not.toContain('EngineCore encountered an issue.');
  });

  it('maps a 429 to a retryable upstream_error, not the client fault', async () => {
    server.reply = { status: 429, body: '{"error":{"message":"too many requests","type":"RateLimitError","param":null,"code":429}}' };
    const { error } = await run();
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true, upstreamStatus: 429 });
  });

  it('maps a non-JSON error body to an upstream_error, its text kept for the log', async () => {
    server.reply = { status: 502, body: 'Bad Gateway' };
    const { error } = await run();
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true, upstreamStatus: 502 });
    expect(engineFailureDetail(error)).toContain('Bad Gateway');
    expect((error as Error).message).not.toContain('Bad Gateway');
  });

  for (const name of ['chat-error-after-200.sse', 'chat-error-after-200-legacy.sse']) {
    it(`throws upstream_error for an error event after a 200, after yielding what came before (${name})`, async () => {
      server.reply = { status: 200, body: vllm(name) };
      const { events, error } = await run();
      expect(text(events)).toBe('Par');
      expect(error).toBeInstanceOf(LlmuxError);
      expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
      expect(engineFailureDetail(error)).toContain('CUDA out of memory');
      expect((error as Error).message).not.toContain('CUDA out of memory');
    });
  }

  it('throws a retryable upstream_error saying the stream was cut when the connection drops before [DONE]', async () => {
    server.reply = { status: 200, body: vllm('chat-cut.sse'), piece: 50, cut: true };
    const { events, error } = await run();
    expect(text(events)).toBe('half');
    expect(error).toBeInstanceOf(LlmuxError);
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect((error as Error).message).toMatch(/stream was cut/);
  });

  it('throws the same when the body ends cleanly but without [DONE]', async () => {
    server.reply = { status: 200, body: vllm('chat-cut.sse') };
    const { events, error } = await run();
    expect(text(events)).toBe('half');
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect((error as Error).message).toMatch(/stream was cut/);
  });

  it('throws upstream_error for an event that is not JSON', async () => {
    server.reply = { status: 200, body: 'data: {"choices":[\n\ndata: [DONE]\n\n' };
    const { error } = await run();
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect((error as Error).message).toContain('unparseable');
  });

  it('asks for the whole answer when the client does not stream, and yields it as one batch', async () => {
    server.reply = { status: 200, body: vllm('chat-whole.json'), piece: 5 };
    const batches: EngineEvent[][] = [];
    for await (const batch of adapter.stream(request('chat', false), new AbortController().signal)) batches.push(batch);
    expect(server.last?.body?.stream).toBe(false);
    expect(server.last?.body?.stream_options).toBeUndefined();
    expect(batches).toEqual([
      [
        { type: 'delta', delta: { index: 0, role: 'assistant', text: 'Paris is the capital.', finishReason: 'stop' } },
        { type: 'usage', usage: { promptTokens: 9, completionTokens: 5 } },
      ],
    ]);
  });
});

describe('engine registry', () => {
  it('knows vllm', () => {
    expect(engineKinds()).toContain('vllm');
    expect(isEngineKind('vllm')).toBe(true);
    expect(isEngineKind('toString')).toBe(false);
    expect(adapter.kind).toBe('vllm');
  });

  it('refuses an unknown engine kind, naming the known ones', () => {
    expect(() => createEngineAdapter('nope', { baseUrl: server.baseUrl })).toThrow(/unknown engine 'nope': known engines are vllm/);
  });
});
