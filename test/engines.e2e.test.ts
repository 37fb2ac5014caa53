// Every engine kind through the whole stack on a real nats-server: OpenAI client → gateway → router
// → worker → that engine's adapter → the simulator speaking that engine's wire format, over loopback.
// The simulator answers with exactly max_tokens one-word tokens, so the text and the counts are known.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineKinds, engineKindsServing } from '../src/engine-adapters/registry.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { defaultEmbeddingDimensions, embedText } from '../src/sim/embeddings.js';
import { cutAfterDirective, FAIL_DIRECTIVE } from '../src/sim/faults.js';
import { clientFor, startTestStack } from './support/stack.js';

const engineKey = 'sk-engine-side-key';
/** Engines with a Prometheus /metrics endpoint whose load signals the adapters read (docs/engines.md). */
const withLoadSignals = new Set(['vllm', 'sglang', 'sglang-generate', 'llamacpp']);
const words = (text: string): number => text.split(' ').filter(Boolean).length;
const generating = new Set(engineKindsServing('generate'));
const embedding = new Set(engineKindsServing('embed'));
type ApiError = InstanceType<typeof OpenAI.APIError>;

describe.each(engineKinds())('engine %s - through gateway, router, worker and adapter', (kind) => {
  const generates = generating.has(kind);
  const embeds = embedding.has(kind);
  let stack: LocalStack;
  let client: OpenAI;
  let model: string;

  beforeAll(async () => {
    stack = await startTestStack({ engineKind: kind, workers: 1, engineApiKey: engineKey });
    client = clientFor(stack);
    model = stack.models[0] as string;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.runIf(generates)('streams a chat answer, with a usage chunk when asked', async () => {
    const stream = await client.chat.completions.create({
      model, stream: true, max_tokens: 7, stream_options: { include_usage: true },
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `Tell me about the sea (${kind}).` }],
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(words(text)).toBe(7);
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(7);
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + 7);
    expect(stack.sims[0]?.stats().byModel[stack.workers[0]!.descriptor.model]).toBeGreaterThan(0);
  });

  it.runIf(generates)('answers a chat request without streaming', async () => {
    const res = await client.chat.completions.create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'Say five words.' }] });
    expect(res.model).toBe(model);
    expect(words(res.choices[0]?.message.content ?? '')).toBe(5);
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.usage?.completion_tokens).toBe(5);
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it.runIf(generates)('answers a completions request', async () => {
    const res = await client.completions.create({ model, max_tokens: 4, prompt: 'Once upon a time' });
    expect(words(res.choices[0]?.text ?? '')).toBe(4);
    expect(res.usage?.completion_tokens).toBe(4);
  });

  it.runIf(withLoadSignals.has(kind))("carries the engine's own load signals to the router", async () => {
    const entry = () => stack.router.table.get(stack.workers[0]!.descriptor.workerId);
    for (let i = 0; i < 100 && entry()?.load.engine === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    const engine = entry()?.load.engine;
    expect(engine?.running).toBeTypeOf('number');
    expect(engine?.waiting).toBeTypeOf('number');
    expect(engine?.kvCacheUsage).toBeGreaterThanOrEqual(0);
    expect(engine?.kvCacheUsage).toBeLessThanOrEqual(1);
  });

  it.runIf(generates)('reports an engine failure before output as 502 upstream_error', async () => {
    const error = await client.chat.completions
      .create({ model, max_tokens: 5, messages: [{ role: 'user', content: `fail now ${FAIL_DIRECTIVE}` }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
  });

  it.runIf(generates)('ends a stream the engine cuts mid-answer with an SSE error, after the tokens that came', async () => {
    const stream = await client.chat.completions.create({
      model, stream: true, max_tokens: 20, messages: [{ role: 'user', content: `cut me ${cutAfterDirective(3)}` }],
    });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(words(text)).toBe(3);
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });

  it.runIf(embeds)('serves embeddings through the official client: one vector per input, in order, with the engine\'s token count', async () => {
    const res = await client.embeddings.create({ model, input: ['the quiet sea', `a storm (${kind})`] });
    expect(res.object).toBe('list');
    expect(res.model).toBe(model);
    // The client asked for base64 (its default) and decoded it: float32, exactly the simulator's values.
    expect(res.data.map((d) => d.embedding)).toEqual([embedText('the quiet sea', defaultEmbeddingDimensions), embedText(`a storm (${kind})`, defaultEmbeddingDimensions)]);
    expect(res.usage).toEqual({ prompt_tokens: 6, total_tokens: 6 });
  });

  it.runIf(embeds)('reports an engine failure of an embeddings request as 502 upstream_error', async () => {
    const error = await client.embeddings.create({ model, input: `fail now ${FAIL_DIRECTIVE}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).code).toBe('upstream_error');
  });

  it.runIf(!embeds)('answers embeddings with a 400 unsupported naming the engine', async () => {
    const error = await client.embeddings.create({ model, input: 'the quiet sea' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).code).toBe('unsupported');
    expect((error as ApiError).message).toContain(`the ${kind} engine`);
  });

  it.runIf(!generates)('answers a chat with a 400 unsupported naming the engine', async () => {
    const error = await client.chat.completions.create({ model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).code).toBe('unsupported');
    expect((error as ApiError).message).toContain(`the ${kind} engine`);
  });
});
