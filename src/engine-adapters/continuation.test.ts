// Mid-stream migration: what every adapter sends its engine to carry on an answer another engine
// started, checked on the wire (a loopback replay server), and which adapters cannot continue.
import { describe, expect, it } from 'vitest';
import type { Continuation, EngineAdapter, EngineRequest } from './adapter.js';
import { fixture } from './fixtures/replay-server.js';
import { replayAdapters } from './fixtures/replay-adapters.js';
import { createEngineAdapter, type EngineKind, engineKinds } from './registry.js';

const replay = replayAdapters();
const adapter = replay.adapter;

type Json = Record<string, unknown>;
const chat = (body: Json = {}): EngineRequest => ({
  operation: 'chat', stream: true, model: 'm', requestId: 'r1',
  body: { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], max_completion_tokens: 3, ...body },
});
const completion = (body: Json = {}): EngineRequest => ({ operation: 'completion', stream: true, model: 'm', requestId: 'r1', body: { prompt: 'Once upon', max_tokens: 3, ...body } });
const partial: Continuation = { text: ' a wörld', tokens: 2, maxTokens: 1 };

const system = { role: 'system', content: 'Be brief.' };
const user = { role: 'user', content: 'hi' };
const assistant = { role: 'assistant', content: ' a wörld' };
/** The chat before the partial answer, as the text-only adapters render it (ChatML by default). */
const rendered = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n';
const openAiStream = { model: 'm', stream: true, stream_options: { include_usage: true } };

/** The exact request an engine gets: path and JSON body. */
interface Sent {
  path: string;
  body: Json;
}

/**
 * Per kind: what the engine is sent for a continued chat and a continued completion (absent: the
 * adapter cannot continue that operation), or 'absent' for an adapter without continueRequest.
 */
const cases: Record<EngineKind, 'absent' | { stream: string; chat?: Sent; completion?: Sent }> = {
  vllm: {
    stream: 'chat-stream-usage.sse',
    chat: { path: '/v1/chat/completions', body: { messages: [system, user, assistant], max_tokens: 1, continue_final_message: true, add_generation_prompt: false, ...openAiStream } },
    completion: { path: '/v1/completions', body: { prompt: 'Once upon a wörld', max_tokens: 1, ...openAiStream } },
  },
  sglang: {
    stream: 'chat-stream.sse',
    chat: { path: '/v1/chat/completions', body: { messages: [system, user, assistant], max_tokens: 1, continue_final_message: true, add_generation_prompt: false, ...openAiStream } },
    completion: { path: '/v1/completions', body: { prompt: 'Once upon a wörld', max_tokens: 1, ...openAiStream } },
  },
  // llama.cpp continues a trailing assistant message by itself and knows no continue_final_message.
  llamacpp: {
    stream: 'chat-stream.sse',
    chat: { path: '/v1/chat/completions', body: { messages: [system, user, assistant], max_tokens: 1, ...openAiStream } },
    completion: { path: '/v1/completions', body: { prompt: 'Once upon a wörld', max_tokens: 1, ...openAiStream } },
  },
  // trtllm-serve has no continue_final_message (and refuses unknown fields): completions only.
  trtllm: { stream: 'chat-stream.sse', completion: { path: '/v1/completions', body: { prompt: 'Once upon a wörld', max_tokens: 1, ...openAiStream } } },
  tgi: {
    stream: 'generate-stream.sse',
    chat: { path: '/generate_stream', body: { inputs: `${rendered} a wörld`, parameters: { max_new_tokens: 1, details: true }, stream: true } },
    completion: { path: '/generate_stream', body: { inputs: 'Once upon a wörld', parameters: { max_new_tokens: 1, details: true }, stream: true } },
  },
  triton: {
    stream: 'generate-stream.sse',
    chat: { path: '/v2/models/m/generate_stream', body: { text_input: `${rendered} a wörld`, max_tokens: 1, stream: true } },
    completion: { path: '/v2/models/m/generate_stream', body: { text_input: 'Once upon a wörld', max_tokens: 1, stream: true } },
  },
  'sglang-generate': {
    stream: 'generate-stream.sse',
    chat: { path: '/generate', body: { text: `${rendered} a wörld`, sampling_params: { max_new_tokens: 1 }, stream: true } },
    completion: { path: '/generate', body: { text: 'Once upon a wörld', sampling_params: { max_new_tokens: 1 }, stream: true } },
  },
  // /api/generate wraps its prompt in the model's template: only chats continue.
  ollama: { stream: 'chat-stream.ndjson', chat: { path: '/api/chat', body: { model: 'm', messages: [system, user, assistant], stream: true, options: { num_predict: 1 } } } },
  openai: 'absent',
  'azure-openai': 'absent',
  anthropic: 'absent',
  tei: 'absent',
};

/** The request the engine got for `request` (the stream itself is a recorded one, read to its end). */
async function sentFor(kind: EngineKind, stream: string, request: EngineRequest): Promise<Sent> {
  replay.server().reply = { status: 200, body: fixture(kind, stream) };
  for await (const _ of adapter(kind).stream(request, new AbortController().signal)) {
    // read to the end
  }
  const last = replay.server().last!;
  return { path: last.path, body: last.body ?? {} };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('adapters - continuing a partial answer', () => {
  it('has a case here for every registered engine, and continueRequest exactly where the case says', () => {
    expect(Object.keys(cases).sort()).toEqual(engineKinds().sort());
    for (const kind of engineKinds()) expect(typeof adapter(kind).continueRequest, kind).toBe(cases[kind] === 'absent' ? 'undefined' : 'function');
  });

  describe.each(engineKinds().filter((k) => cases[k] !== 'absent'))('%s', (kind) => {
    const c = cases[kind] as Exclude<(typeof cases)[EngineKind], 'absent'>;
    for (const [operation, request, expected] of [['chat', chat(), c.chat], ['completion', completion(), c.completion]] as const) {
      if (expected) {
        it(`sends a ${operation} that continues the delivered text, within the remaining budget`, async () => {
          const continued = adapter(kind).continueRequest!(request, partial);
          expect(continued).toMatchObject({ operation, stream: true, model: 'm', requestId: 'r1' });
          expect(await sentFor(kind, c.stream, continued!)).toEqual(expected);
        });
      } else {
        it(`cannot continue a ${operation}`, () => {
          expect(adapter(kind).continueRequest!(request, partial)).toBeUndefined();
        });
      }
    }

    it('leaves the request it was given untouched', () => {
      for (const request of [chat(), completion()]) {
        const before = structuredClone(request);
        adapter(kind).continueRequest!(deepFreeze(request), partial);
        expect(request).toEqual(before);
      }
    });
  });

  it('keeps the client limit as it was when there is no remaining budget to give', () => {
    const continued = adapter('vllm').continueRequest!(chat({ max_completion_tokens: undefined }), { text: ' a', tokens: 1 });
    expect(continued?.body).not.toHaveProperty('max_tokens');
    expect(continued?.body.max_completion_tokens).toBeUndefined();
  });

  it('cannot continue a prompt of token ids, a list of prompts, or a completion that echoes its prompt', () => {
    for (const prompt of [[1, 2, 3], ['Once upon'], [[1, 2]]]) expect(adapter('vllm').continueRequest!(completion({ prompt }), partial)).toBeUndefined();
    expect(adapter('vllm').continueRequest!(completion({ echo: true }), partial)).toBeUndefined();
  });

  it('continues a request that was itself a prefill on the end of its own final message', () => {
    const prefill = { role: 'assistant', content: 'Sure:' };
    expect(adapter('vllm').continueRequest!(chat({ messages: [user, prefill], continue_final_message: true, add_generation_prompt: false }), partial)?.body.messages)
      .toEqual([user, { role: 'assistant', content: 'Sure: a wörld' }]);
    expect(adapter('llamacpp').continueRequest!(chat({ messages: [user, prefill] }), partial)?.body.messages).toEqual([user, { role: 'assistant', content: 'Sure: a wörld' }]);
    // Without the flag vLLM starts a new turn after a final assistant message: the partial answer is that new turn.
    expect(adapter('vllm').continueRequest!(chat({ messages: [user, prefill] }), partial)?.body.messages).toEqual([user, prefill, assistant]);
  });

  it('text-only adapters refuse continue_final_message without a final assistant message, as vLLM does', async () => {
    replay.server().reply = { status: 200, body: fixture('tgi', 'generate-stream.sse') };
    const error = await (async () => {
      for await (const _ of adapter('tgi').stream(chat({ continue_final_message: true }), new AbortController().signal)) {
        // not reached
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_request', param: 'continue_final_message', retryable: false });
  });
});
