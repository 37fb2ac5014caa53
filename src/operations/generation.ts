/**
 * What chat and completions share: the generation fields of their schemas, usage as OpenAI writes
 * it, and rendering worker deltas as chunk events or one whole answer. Each of the two supplies its
 * own object names and choice shapes (chat.ts, completion.ts).
 */
import { z } from 'zod';
import type { Delta, ToolCallDelta } from '../engine-adapters/adapter.js';
import type { AnswerUsage, Output, RenderContext, StreamRender, WholeAnswer } from './operation.js';

const positiveInt = z.number().int().positive();

export const generationFields = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: positiveInt.nullish(),
  // Several choices would need every engine (native ones generate one) and migration to handle them.
  n: z.literal(1, 'only n=1 is supported').nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).nullish(),
};

export { positiveInt };

export function openAiUsage(u: AnswerUsage): Record<string, unknown> {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    ...(u.cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cachedTokens } } : {}),
  };
}

/** A whole tool call as a choice's `message.tool_calls` shows it. */
export interface ToolCallAcc {
  id?: string;
  type?: string;
  function: { name: string; arguments: string };
}

export interface ChoiceAcc {
  role: string;
  text: string;
  reasoning: string;
  finishReason: string | null;
  toolCalls: Map<number, ToolCallAcc>;
  /** Chat token logprobs (`logprobs.content` entries), in order. */
  logprobs: Record<string, unknown>[];
}

/** How one generating operation writes its answers. */
export interface GenerationStyle {
  chunkObject: string;
  wholeObject: string;
  chunkChoice(d: Delta): Record<string, unknown>;
  wholeChoice(index: number, c: ChoiceAcc): Record<string, unknown>;
}

export function generationStream(style: GenerationStyle): StreamRender {
  return {
    chunkEvents(ctx, deltas) {
      let out = '';
      for (const d of deltas) {
        const chunk = { id: ctx.id, object: style.chunkObject, created: ctx.created, model: ctx.clientModel, choices: [style.chunkChoice(d)] };
        out += `data: ${JSON.stringify(chunk)}\n\n`;
      }
      return out;
    },
    usageEvent(ctx, usage) {
      const chunk = { id: ctx.id, object: style.chunkObject, created: ctx.created, model: ctx.clientModel, choices: [], usage: openAiUsage(usage) };
      return `data: ${JSON.stringify(chunk)}\n\n`;
    },
  };
}

/** Accumulates deltas into the non-streaming answer. */
export class CompletionAccumulator implements WholeAnswer {
  readonly #choices = new Map<number, ChoiceAcc>();

  constructor(readonly style: GenerationStyle) {}

  add(output: Output): boolean {
    if (output.type !== 'deltas') return false;
    for (const d of output.deltas) {
      let c = this.#choices.get(d.index);
      if (!c) {
        c = { role: 'assistant', text: '', reasoning: '', finishReason: null, toolCalls: new Map(), logprobs: [] };
        this.#choices.set(d.index, c);
      }
      if (d.role) c.role = d.role;
      if (d.text) c.text += d.text;
      if (d.reasoning) c.reasoning += d.reasoning;
      if (d.finishReason) c.finishReason = d.finishReason;
      for (const raw of d.toolCalls ?? []) mergeToolCall(c.toolCalls, raw);
      if (d.logprobs) for (const entry of d.logprobs) c.logprobs.push(entry);
    }
    return true;
  }

  missing(): undefined {
    return undefined;
  }

  render(ctx: RenderContext, usage: AnswerUsage): Record<string, unknown> {
    const choices = [...this.#choices.entries()].sort(([a], [b]) => a - b).map(([index, c]) => this.style.wholeChoice(index, c));
    return { id: ctx.id, object: this.style.wholeObject, created: ctx.created, model: ctx.clientModel, choices, usage: openAiUsage(usage) };
  }
}

/**
 * One tool-call delta into the call it continues (joined by `index`, as OpenAI streams them): `id`
 * and `type` come once, `function.name` usually once, `function.arguments` in pieces; calls of
 * several indices may interleave.
 */
function mergeToolCall(acc: ChoiceAcc['toolCalls'], t: ToolCallDelta): void {
  const existing = acc.get(t.index) ?? { type: 'function', function: { name: '', arguments: '' } };
  if (t.id) existing.id = t.id;
  if (t.type) existing.type = t.type;
  if (t.function?.name) existing.function.name += t.function.name;
  if (t.function?.arguments) existing.function.arguments += t.function.arguments;
  acc.set(t.index, existing);
}

/** `max_completion_tokens` (chat) or `max_tokens`, if the client gave one. */
export function maxTokensOf(body: Readonly<Record<string, unknown>>): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' ? value : undefined;
}
