// Each simulator format over real loopback HTTP, checked against its engine's wire shapes: a streamed
// and a whole answer with exactly max tokens, counts where (and only where) the engine reports them,
// its own error shape for [[sim:fail]], a cut without the end marker, and an error event after a 200.
import { describe, expect, it } from 'vitest';
import { cutAfterDirective, errorAfterDirective, FAIL_DIRECTIVE } from './faults.js';
import { simFormats } from './formats/index.js';
import { simulators } from './sim-test-support.js';

const start = simulators();
const key = 'sk-provider';
type Json = Record<string, unknown>;

/** How to ask each format for `tokens` tokens of `prompt`, and how to read its answer. */
interface Spec {
  path: string;
  /** Where a whole (non-streamed) answer is asked for, when not at `path`. */
  wholePath?: string;
  headers?: Record<string, string>;
  body(prompt: string, tokens: number, stream: boolean): Json;
  /** Token texts and the counts of a streamed body; `ended`: the engine's end marker (or end of stream) came. */
  stream(text: string): { tokens: string[]; prompt?: number; completion?: number; ended: boolean };
  /** Text and counts of a whole answer. */
  whole(body: Json): { text: string; prompt?: number; completion?: number };
  /** A field that marks the format's error body. */
  errorMark(body: Json): unknown;
}

const sseData = (text: string): Json[] => text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Json);

const openAi = (path = '/v1/chat/completions', headers?: Record<string, string>): Spec => ({
  path,
  ...(headers ? { headers } : {}),
  body: (prompt, tokens, stream) => ({ model: 'm', messages: [{ role: 'user', content: prompt }], max_tokens: tokens, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
  stream(text) {
    const events = sseData(text);
    const usage = events.find((e) => e.usage)?.usage as Json | undefined;
    const tokens = events.flatMap((e) => ((e.choices as Json[] | undefined) ?? []).map((c) => (c.delta as Json).content as string)).filter((t) => t);
    return { tokens, prompt: usage?.prompt_tokens as number, completion: usage?.completion_tokens as number, ended: text.endsWith('data: [DONE]\n\n') };
  },
  whole: (b) => ({ text: ((b.choices as Json[])[0]!.message as Json).content as string, prompt: (b.usage as Json).prompt_tokens as number, completion: (b.usage as Json).completion_tokens as number }),
  errorMark: (b) => (b.error as Json | undefined)?.message ?? b.message,
});

const specs: Record<string, Spec> = {
  vllm: openAi(),
  sglang: openAi(),
  trtllm: openAi(),
  llamacpp: openAi(),
  openai: openAi('/v1/chat/completions', { authorization: `Bearer ${key}` }),
  'azure-openai': openAi('/openai/deployments/m/chat/completions?api-version=2024-10-21', { 'api-key': key }),
  'sglang-generate': {
    path: '/generate',
    body: (prompt, tokens, stream) => ({ text: prompt, sampling_params: { max_new_tokens: tokens }, stream }),
    stream(text) {
      const events = sseData(text);
      const last = events.at(-1)?.meta_info as Json | undefined;
      // Cumulative: each event's text extends the previous one.
      const tokens = events.map((e, i) => (e.text as string).slice(i === 0 ? 0 : (events[i - 1]!.text as string).length));
      return { tokens, prompt: last?.prompt_tokens as number, completion: last?.completion_tokens as number, ended: text.endsWith('data: [DONE]\n\n') };
    },
    whole: (b) => ({ text: b.text as string, prompt: (b.meta_info as Json).prompt_tokens as number, completion: (b.meta_info as Json).completion_tokens as number }),
    errorMark: (b) => b.message,
  },
  tgi: {
    path: '/generate_stream',
    wholePath: '/generate',
    body: (prompt, tokens) => ({ inputs: prompt, parameters: { max_new_tokens: tokens, details: true } }),
    stream(text) {
      const events = sseData(text);
      const last = events.at(-1);
      return { tokens: events.map((e) => (e.token as Json).text as string), completion: (last?.details as Json | null)?.generated_tokens as number, ended: typeof last?.generated_text === 'string' };
    },
    whole: (b) => ({ text: b.generated_text as string }),
    errorMark: (b) => b.error_type,
  },
  triton: {
    path: '/v2/models/m/generate_stream',
    wholePath: '/v2/models/m/generate',
    body: (prompt, tokens, stream) => ({ text_input: prompt, max_tokens: tokens, stream }),
    stream: (text) => ({ tokens: sseData(text).map((e) => e.text_output as string), ended: true }),
    whole: (b) => ({ text: b.text_output as string }),
    errorMark: (b) => b.error,
  },
  ollama: {
    path: '/api/chat',
    body: (prompt, tokens, stream) => ({ model: 'm', messages: [{ role: 'user', content: prompt }], options: { num_predict: tokens }, stream }),
    stream(text) {
      const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Json);
      const last = lines.at(-1)!;
      return {
        tokens: lines.map((l) => (l.message as Json).content as string).filter((t) => t),
        prompt: last.prompt_eval_count as number, completion: last.eval_count as number, ended: last.done === true,
      };
    },
    whole: (b) => ({ text: (b.message as Json).content as string, prompt: b.prompt_eval_count as number, completion: b.eval_count as number }),
    errorMark: (b) => b.error,
  },
  anthropic: {
    path: '/v1/messages',
    headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' },
    body: (prompt, tokens, stream) => ({ model: 'm', max_tokens: tokens, messages: [{ role: 'user', content: prompt }], stream }),
    stream(text) {
      const events = sseData(text);
      const start = (events.find((e) => e.type === 'message_start')?.message as Json | undefined)?.usage as Json | undefined;
      const delta = events.find((e) => e.type === 'message_delta');
      return {
        tokens: events.filter((e) => e.type === 'content_block_delta').map((e) => (e.delta as Json).text as string),
        prompt: start?.input_tokens as number, completion: (delta?.usage as Json | undefined)?.output_tokens as number,
        ended: events.at(-1)?.type === 'message_stop',
      };
    },
    whole: (b) => ({ text: ((b.content as Json[])[0]!).text as string, prompt: (b.usage as Json).input_tokens as number, completion: (b.usage as Json).output_tokens as number }),
    errorMark: (b) => (b.error as Json | undefined)?.type,
  },
};

/** Engines that report each count (the rest leave it out). */
const reportsPrompt = new Set(['vllm', 'sglang', 'trtllm', 'llamacpp', 'openai', 'azure-openai', 'sglang-generate', 'ollama', 'anthropic']);
const reportsCompletion = new Set([...reportsPrompt, 'tgi']);

describe('simulator formats', () => {
  const generating = Object.keys(simFormats).filter((f) => simFormats[f]!.routes.some((r) => r.generate));
  it('has a spec here for every format that generates (sim-embeddings.test.ts has those that embed)', () => {
    expect(Object.keys(specs).sort()).toEqual(generating.sort());
  });

  describe.each(generating)('format %s', (format) => {
    const spec = specs[format]!;
    const send = async (prompt: string, tokens: number, stream: boolean): Promise<Response> => {
      const sim = await start({ format, apiKey: key });
      return fetch(`${sim.url}${stream ? spec.path : (spec.wholePath ?? spec.path)}`, { method: 'POST', headers: { 'content-type': 'application/json', ...spec.headers }, body: JSON.stringify(spec.body(prompt, tokens, stream)) });
    };

    it('streams exactly the requested tokens, with counts where the engine reports them', async () => {
      const res = await send('tell me about the sea', 5, true);
      expect(res.status).toBe(200);
      const got = spec.stream(await res.text());
      expect(got.tokens).toHaveLength(5);
      expect(got.ended).toBe(true);
      expect(got.completion).toBe(reportsCompletion.has(format) ? 5 : undefined);
      if (reportsPrompt.has(format)) expect(got.prompt).toBeGreaterThan(0);
      else expect(got.prompt).toBeUndefined();
    });

    it('answers whole when not streaming, with the same text', async () => {
      const streamed = spec.stream(await (await send('same prompt', 4, true)).text()).tokens.join('');
      const res = await send('same prompt', 4, false);
      expect(res.status).toBe(200);
      expect(spec.whole((await res.json()) as Json).text).toBe(streamed);
    });

    it('answers [[sim:fail]] with its own error shape, before any output', async () => {
      const res = await send(`please ${FAIL_DIRECTIVE}`, 4, true);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(spec.errorMark((await res.json()) as Json)).toBeTruthy();
    });

    it('cuts the connection mid-stream for [[sim:cut-after:N]]', async () => {
      const res = await send(`cut ${cutAfterDirective(2)}`, 6, true);
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    });

    it('writes its own error event into the 200 stream for [[sim:error-after:N]]', async () => {
      const res = await send(`err ${errorAfterDirective(2)}`, 6, true);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/error/);
      expect(spec.stream(text.split('\n').filter((l) => !/error/.test(l)).join('\n')).tokens).toHaveLength(2);
    });
  });

  it('refuses remote-provider requests without the key, as the provider would', async () => {
    for (const [format, status] of [['openai', 401], ['azure-openai', 401], ['anthropic', 401]] as const) {
      const sim = await start({ format, apiKey: key });
      const res = await fetch(`${sim.url}${specs[format]!.path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: '{}' });
      expect(res.status, format).toBe(status);
    }
  });
});
