// Token accounting through the whole stack on a real nats-server: prompt tokens counted by the
// gateway before admission, completion tokens by the worker when the engine reports none, the
// engine's counts winning where it has them (with the difference as a metric), and the context
// length enforced before any engine is called.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFunctionId, demoVersionId } from '../src/control/demo-function.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { createTokenCounter, type TokenCounter } from '../src/tokenize/index.js';
import { clientFor, startTestStack, testApiKey } from './support/stack.js';

let tokens: TokenCounter;
beforeAll(() => {
  tokens = createTokenCounter();
});
afterAll(() => tokens.close());

const messages: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are a terse assistant. Answer in one line.' },
  { role: 'user', content: 'Which is larger, the Pacific or the Atlantic? 大洋 🌊' },
];

/** Points the demo model at `llmConfig` and waits until the gateway has it. */
async function configureDemo(stack: LocalStack, llmConfig: Record<string, unknown>): Promise<void> {
  const model = stack.workers[0]!.descriptor.model;
  await stack.gateway.catalog.putVersion({
    functionId: demoFunctionId, versionId: demoVersionId, createdAt: new Date().toISOString(),
    models: [{ name: model, llmConfig }],
  });
  for (let i = 0; i < 200; i++) {
    const current = stack.gateway.catalog.resolve(demoFunctionId, model)?.model.llmConfig;
    if (JSON.stringify(current) === JSON.stringify(llmConfig)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the gateway did not see the new llmConfig');
}

describe('tokens - an engine that reports no counts (triton)', () => {
  let stack: LocalStack;
  let client: OpenAI;

  beforeAll(async () => {
    stack = await startTestStack({ engineKind: 'triton', workers: 1 });
    client = clientFor(stack);
    await configureDemo(stack, { tokenizer: 'llama3' });
  });
  afterAll(() => stack?.stop());

  it("reports the gateway's prompt count and the worker's completion count in the usage chunk", async () => {
    const stream = await client.chat.completions.create({
      model: stack.models[0]!, stream: true, max_tokens: 9, stream_options: { include_usage: true }, messages,
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(usage).toEqual({
      prompt_tokens: await tokens.countChat('llama3', messages),
      completion_tokens: (await tokens.countTexts('llama3', [text]))[0],
      total_tokens: expect.any(Number),
    });
    expect(usage?.completion_tokens).toBe(9); // the simulator's words are one llama3 token each
  });
});

describe('tokens - an engine that reports counts (vllm), and the context length', () => {
  let stack: LocalStack;
  let client: OpenAI;

  beforeAll(async () => {
    stack = await startTestStack({ workers: 1 });
    client = clientFor(stack);
    await configureDemo(stack, { tokenizer: 'cl100k', contextLength: 60 });
  });
  afterAll(() => stack?.stop());

  const simRequests = (): number => stack.sims[0]!.stats().requestsTotal;

  it("lets the engine's counts win and exposes how far llmux's own count was off", async () => {
    const res = await client.chat.completions.create({ model: stack.models[0]!, max_tokens: 4, messages });
    const simCount = stack.sims[0]!.stats();
    expect(simCount.requestsTotal).toBeGreaterThan(0);
    // The simulator counts words, not cl100k tokens: the usage is the engine's, not llmux's.
    const llmuxCount = await tokens.countChat('cl100k', messages);
    expect(res.usage?.prompt_tokens).not.toBe(llmuxCount);
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    const sum = new RegExp(`llmux_token_count_difference_sum\\{gen_ai_token_type="input",gen_ai_request_model="${stack.models[0]}"\\} (-?\\d+)`).exec(metrics);
    expect(Number(sum?.[1])).toBe((res.usage?.prompt_tokens ?? 0) - llmuxCount);
    expect(metrics).toMatch(/llmux_token_count_difference_count\{gen_ai_token_type="output",[^}]*\} 1/);
  });

  it('refuses a request beyond the context length with 400 and the numbers, without calling an engine', async () => {
    const before = simRequests();
    const prompt = await tokens.countChat('cl100k', messages);
    const error = await client.chat.completions
      .create({ model: stack.models[0]!, max_tokens: 61 - prompt, messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(apiError.code).toBe('invalid_request');
    expect(apiError.param).toBe('max_tokens');
    expect(apiError.message).toContain(`maximum context length is 60 tokens. However, you requested 61 tokens (${prompt} in the messages, ${61 - prompt} in the completion)`);
    expect(simRequests()).toBe(before);
    // One token less fits.
    const ok = await client.chat.completions.create({ model: stack.models[0]!, max_tokens: 60 - prompt, messages });
    expect(ok.choices[0]?.finish_reason).toBe('length');
  });

  it('counts completion prompts, strings and token ids, against the context too', async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.models[0], max_tokens: 10, prompt: Array.from({ length: 55 }, (_, i) => i) }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('(55 in the prompt, 10 in the completion)');
  });
});
