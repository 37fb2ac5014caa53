/** `POST /v1/completions`: a prompt (text or token ids, one or many) in, text out, streamed or whole. */
import { z } from 'zod';
import { CompletionAccumulator, type GenerationStyle, generationFields, generationStream, maxTokensOf } from './generation.js';
import type { OperationSpec } from './operation.js';

export const completionBodySchema = z.looseObject({
  ...generationFields,
  // A completion's logprobs ({tokens, token_logprobs, …}) are not relayed: refused rather than answered with none.
  logprobs: z.literal(0, 'logprobs of completions are not relayed by llmux (use chat completions, or leave logprobs unset)').nullish(),
  prompt: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int()).min(1), z.array(z.array(z.number().int())).min(1)]),
});

type Prompt = string | string[] | number[] | number[][];

const style: GenerationStyle = {
  chunkObject: 'text_completion',
  wholeObject: 'text_completion',
  chunkChoice: (d) => ({ index: d.index, text: d.text ?? '', logprobs: null, finish_reason: d.finishReason ?? null }),
  wholeChoice: (index, c) => ({ index, text: c.text, logprobs: null, finish_reason: c.finishReason }),
};

function promptText(body: Readonly<Record<string, unknown>>): string {
  const prompt = body.prompt;
  if (typeof prompt === 'string') return prompt;
  const first = Array.isArray(prompt) ? prompt[0] : undefined;
  return typeof first === 'string' ? first : JSON.stringify(first ?? '');
}

export const completion: OperationSpec = {
  name: 'completion',
  path: '/v1/completions',
  idPrefix: 'cmpl',
  promptField: 'prompt',
  schema: completionBodySchema,
  prepare: (body) => body,
  work: { kind: 'generate', operation: 'completion' },
  async countPrompt(tokens, tokenizer, body) {
    const prompt = body.prompt as Prompt;
    let counts: number[];
    if (typeof prompt === 'string') counts = await tokens.countTexts(tokenizer, [prompt]);
    else if (typeof prompt[0] === 'string') counts = await tokens.countTexts(tokenizer, prompt as string[]);
    else if (typeof prompt[0] === 'number') counts = [prompt.length];
    else counts = (prompt as number[][]).map((ids) => ids.length);
    return { total: counts.reduce((a, b) => a + b, 0), longest: Math.max(...counts), answers: counts.length };
  },
  promptText,
  affinityText: (body) => promptText(body).slice(0, 1024),
  maxTokens: maxTokensOf,
  answer: () => new CompletionAccumulator(style),
  stream: generationStream(style),
};
