// Mid-stream migration against the simulator over loopback HTTP: an answer continued from its first k
// tokens is, byte for byte, the rest of the undisturbed answer, with the same finish reason, the
// prompt count plus k and only the new tokens counted. Every format is driven by its engine's own
// adapter (the request a worker would really send); the vLLM format's rules and the fault
// directives are checked on raw HTTP.
import { describe, expect, it } from 'vitest';
import type { Continuation, EngineAdapter, EngineRequest, Usage } from '../engine-adapters/adapter.js';
import { createEngineAdapter, engineKinds } from '../engine-adapters/registry.js';
import { cutAfterDirective, errorAfterDirective, prefillMsDirective, stallAfterDirective } from './faults.js';
import { seedOf, textOf } from './generation.js';
import { chatBody, post, simulators, readUntilCut } from './sim-test-support.js';

const start = simulators();
type Json = Record<string, unknown>;

interface Answer {
  text: string;
  finish: string | undefined;
  usage: Usage;
}

async function answer(adapter: EngineAdapter, request: EngineRequest): Promise<Answer> {
  let text = '';
  let finish: string | undefined;
  let usage: Usage = {};
  for await (const batch of adapter.stream(request, new AbortController().signal)) {
    for (const e of batch) {
      if (e.type === 'usage') usage = { ...usage, ...e.usage };
      else {
        text += e.delta.text ?? '';
        finish = e.delta.finishReason ?? finish;
      }
    }
  }
  return { text, finish, usage };
}

/** The answer's tokens: one word each, a leading space on all but the first. */
const tokensOf = (text: string): string[] => text.split(/(?= )/);

const request = (operation: 'chat' | 'completion', maxTokens: number | undefined, stream = true): EngineRequest => ({
  operation, stream, model: 'm', requestId: 'r1',
  body: {
    ...(operation === 'chat' ? { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'tell me about the sea' }] } : { prompt: 'Once upon a time' }),
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
  },
});

const continuing = engineKinds().filter((kind) => createEngineAdapter(kind, { baseUrl: 'http://127.0.0.1:1' }).continueRequest !== undefined);

describe('sim - continuing an answer from its first k tokens', () => {
  it('is checked here for every engine whose adapter continues', () => {
    expect(continuing.sort()).toEqual(['llamacpp', 'ollama', 'sglang', 'sglang-generate', 'tgi', 'triton', 'trtllm', 'vllm']);
  });

  describe.each(continuing)('format %s, through its adapter', (kind) => {
    const cases = [
      ['chat', 7], ['chat', undefined], ['completion', 7], ['completion', undefined], ['chat', 7, false], ['completion', undefined, false],
    ] as const;
    // Only what the adapter can continue (trtllm: completions; ollama: chats).
    const probe = createEngineAdapter(kind, { baseUrl: 'http://127.0.0.1:1' });
    for (const [operation, maxTokens, stream = true] of cases.filter(([operation]) => probe.continueRequest!(request(operation, 7), { text: ' x', tokens: 1 }))) {
      it(`${operation}, ${maxTokens === undefined ? 'no max_tokens (the default length)' : `max_tokens ${maxTokens}`}${stream ? '' : ', not streamed'}`, async () => {
        const sim = await start({ format: kind, defaultMaxTokens: 6 });
        const adapter = createEngineAdapter(kind, { baseUrl: sim.url });
        try {
          const original = request(operation, maxTokens, stream);
          const whole = await answer(adapter, request(operation, maxTokens));
          const tokens = tokensOf(whole.text);
          expect(tokens).toHaveLength(maxTokens ?? 6);
          for (const k of [1, 3, tokens.length - 1]) {
            const delivered = tokens.slice(0, k).join('');
            const continuation: Continuation = { text: delivered, tokens: k, ...(maxTokens === undefined ? {} : { maxTokens: maxTokens - k }) };
            const rest = await answer(adapter, adapter.continueRequest!(original, continuation)!);
            expect({ k, text: rest.text, finish: rest.finish }).toEqual({ k, text: whole.text.slice(delivered.length), finish: whole.finish });
            if (whole.usage.promptTokens !== undefined) expect(rest.usage.promptTokens, `prompt tokens at k=${k}`).toBe(whole.usage.promptTokens + k);
            if (whole.usage.completionTokens !== undefined) expect(rest.usage.completionTokens, `completion tokens at k=${k}`).toBe(tokens.length - k);
          }
          expect(sim.stats().continuations).toEqual({ exact: 3, inexact: 0 });
        } finally {
          await adapter.close();
        }
      });
    }
  });
});

const sseText = (text: string): string =>
  text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as Json)
    .map((e) => ((e.choices as Json[] | undefined)?.[0] as Json | undefined)).map((c) => ((c?.delta as Json | undefined)?.content as string | undefined) ?? (c?.text as string | undefined) ?? '').join('');

/** A chat continuing `delivered`, the vLLM way. */
const continued = (content: string, delivered: string, extra: Json = {}): Json => ({
  model: 'sim-model', messages: [{ role: 'user', content }, { role: 'assistant', content: delivered }], continue_final_message: true, add_generation_prompt: false, ...extra,
});


describe('sim - the vLLM format continuing a chat', () => {
  it('refuses continue_final_message when the last message is not the assistant’s, or with add_generation_prompt, with a 400', async () => {
    const sim = await start();
    for (const body of [chatBody('hi', { continue_final_message: true }), continued('hi', ' a', { add_generation_prompt: true })]) {
      const res = await post(sim, '/v1/chat/completions', body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'BadRequestError', param: null, code: 400 } });
    }
    expect(sim.stats().requestsTotal).toBe(0);
  });

  it('carries on from the word count of a partial answer that is not its own text, and counts it inexact', async () => {
    const sim = await start();
    const full = textOf(seedOf('hi'), 8);
    const res = await post(sim, '/v1/chat/completions', continued('hi', 'some other engine', { max_tokens: 5 }));
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }>; usage: Json };
    expect(body.choices[0]?.message.content).toBe(tokensOf(full).slice(3).join(''));
    expect(body.usage).toMatchObject({ prompt_tokens: 2 + 3, completion_tokens: 5 });
    expect(sim.stats().continuations).toEqual({ exact: 0, inexact: 1 });
  });

  it('answers a final assistant message without the flag with a new turn, as vLLM does', async () => {
    const sim = await start();
    const delivered = textOf(seedOf('hi'), 2);
    const res = await post(sim, '/v1/chat/completions', { ...continued('hi', delivered, { max_tokens: 3 }), continue_final_message: undefined, add_generation_prompt: undefined });
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }>; usage: Json };
    expect(body.choices[0]?.message.content).toBe(textOf(seedOf(`hi\n${delivered}`), 3));
    expect(body.usage).toMatchObject({ prompt_tokens: 1 + 2 + 2 });
    expect(sim.stats().continuations).toEqual({ exact: 0, inexact: 0 });
  });

  it('refuses two assistant messages at the end in the llama.cpp format, which continues a trailing one', async () => {
    const sim = await start({ format: 'llamacpp' });
    const res = await post(sim, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'a' }, { role: 'assistant', content: 'b' }] });
    expect(res.status).toBe(400);
  });

  it('does not take a prompt of token ids for a continuation', async () => {
    const sim = await start();
    await post(sim, '/v1/completions', { prompt: [1, 2, 3], max_tokens: 2 });
    expect(sim.stats().continuations).toEqual({ exact: 0, inexact: 0 });
  });
});

describe('sim - fault directives over the whole answer', () => {
  const prompt = (directive: string): string => `tell me ${directive}`;
  const full = (directive: string): string => textOf(seedOf(prompt(directive)), 8);

  for (const [name, directive] of [['cut-after', cutAfterDirective(3)], ['error-after', errorAfterDirective(3)]] as const) {
    it(`${name}:3 fails the first engine after 3 tokens, not a continuation from token 3, and again one from token 1 after 2 more`, async () => {
      const sim = await start();
      const first = await readUntilCut(await post(sim, '/v1/chat/completions', chatBody(prompt(directive), { stream: true, max_tokens: 8 })));
      expect(sseText(first.text)).toBe(textOf(seedOf(prompt(directive)), 3));
      expect(name === 'cut-after' ? first.broke : /error/.test(first.text)).toBe(true);

      const delivered = tokensOf(full(directive));
      const fromThree = await readUntilCut(await post(sim, '/v1/chat/completions', continued(prompt(directive), delivered.slice(0, 3).join(''), { stream: true, max_tokens: 5 })));
      expect(fromThree.broke).toBe(false);
      expect(sseText(fromThree.text)).toBe(delivered.slice(3).join(''));
      expect(fromThree.text.endsWith('data: [DONE]\n\n')).toBe(true);

      const fromOne = await readUntilCut(await post(sim, '/v1/chat/completions', continued(prompt(directive), delivered[0]!, { stream: true, max_tokens: 7 })));
      expect(sseText(fromOne.text)).toBe(delivered.slice(1, 3).join(''));
      expect(fromOne.text).not.toContain('[DONE]');
    });
  }

  it('stall-after:2 sends 2 tokens, then holds the connection silent until the client aborts; a continuation from token 2 finishes', async () => {
    const sim = await start();
    const directive = stallAfterDirective(2);
    const controller = new AbortController();
    const res = await post(sim, '/v1/completions', { prompt: prompt(directive), stream: true, max_tokens: 8 }, controller.signal);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while ((text.match(/"text"/g) ?? []).length < 2) text += decoder.decode((await reader.read()).value);
    const next = await Promise.race([reader.read().then(() => 'bytes'), new Promise((r) => setTimeout(() => r('silent'), 300))]);
    expect(next).toBe('silent');
    expect(sim.stats()).toMatchObject({ running: 1, aborted: 0 });
    controller.abort();
    await expect.poll(() => sim.stats().aborted).toBe(1);
    expect(sim.stats().running).toBe(0);

    const delivered = tokensOf(full(directive));
    const rest = await readUntilCut(await post(sim, '/v1/completions', { prompt: prompt(directive) + delivered.slice(0, 2).join(''), stream: true, max_tokens: 6 }));
    expect(sseText(rest.text)).toBe(delivered.slice(2).join(''));
  });

  it('stall-after holds a non-streamed answer back entirely until the client aborts', async () => {
    const sim = await start();
    const controller = new AbortController();
    const pending = post(sim, '/v1/completions', { prompt: prompt(stallAfterDirective(1)), max_tokens: 3 }, controller.signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.stats().running).toBe(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await expect.poll(() => sim.stats().aborted).toBe(1);
  });

  it('prefill-ms:M holds the first byte back M ms', async () => {
    const sim = await start();
    const begun = Date.now();
    const res = await post(sim, '/v1/chat/completions', chatBody(prompt(prefillMsDirective(250)), { stream: true, max_tokens: 2 }));
    expect(Date.now() - begun).toBeGreaterThanOrEqual(245);
    expect(sseText(await res.text())).toBe(textOf(seedOf(prompt(prefillMsDirective(250))), 2));
  });
});
