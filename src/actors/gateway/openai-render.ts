/**
 * Renders worker deltas as the OpenAI wire format the client asked for: SSE chunk events when
 * streaming, one completion object otherwise. The client sees its own model string back.
 */
import type { Delta, Operation, ToolCallDelta } from '../../engine-adapters/adapter.js';
import type { TokenUsage } from './usage-reconcile.js';

export interface RenderContext {
  id: string;
  created: number;
  clientModel: string;
  operation: Operation;
}

export function openAiUsage(u: TokenUsage): Record<string, unknown> {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    ...(u.cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cachedTokens } } : {}),
  };
}

function chatDelta(d: Delta): Record<string, unknown> {
  const delta: Record<string, unknown> = {};
  if (d.role !== undefined) delta.role = d.role;
  // OpenAI's first chunk carries `content: ""` with the role; clients that concatenate expect a string.
  if (d.text !== undefined || d.role !== undefined) delta.content = d.text ?? '';
  if (d.reasoning !== undefined) delta.reasoning_content = d.reasoning;
  if (d.toolCalls !== undefined) delta.tool_calls = d.toolCalls;
  return delta;
}

/** The SSE events for one frame's deltas, as one string (written with one `write`). */
export function renderChunkEvents(ctx: RenderContext, deltas: readonly Delta[]): string {
  let out = '';
  for (const d of deltas) {
    const choice = ctx.operation === 'chat'
      ? { index: d.index, delta: chatDelta(d), logprobs: null, finish_reason: d.finishReason ?? null }
      : { index: d.index, text: d.text ?? '', logprobs: null, finish_reason: d.finishReason ?? null };
    const chunk = {
      id: ctx.id,
      object: ctx.operation === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: ctx.created,
      model: ctx.clientModel,
      choices: [choice],
    };
    out += `data: ${JSON.stringify(chunk)}\n\n`;
  }
  return out;
}

export function renderUsageEvent(ctx: RenderContext, usage: TokenUsage): string {
  const chunk = {
    id: ctx.id,
    object: ctx.operation === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: ctx.created,
    model: ctx.clientModel,
    choices: [],
    usage: openAiUsage(usage),
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

interface ChoiceAcc {
  role: string;
  text: string;
  reasoning: string;
  finishReason: string | null;
  toolCalls: Map<number, { id?: string; type?: string; function: { name: string; arguments: string } }>;
}

/** Accumulates deltas into the non-streaming answer. */
export class CompletionAccumulator {
  readonly #choices = new Map<number, ChoiceAcc>();

  add(deltas: readonly Delta[]): void {
    for (const d of deltas) {
      let c = this.#choices.get(d.index);
      if (!c) {
        c = { role: 'assistant', text: '', reasoning: '', finishReason: null, toolCalls: new Map() };
        this.#choices.set(d.index, c);
      }
      if (d.role) c.role = d.role;
      if (d.text) c.text += d.text;
      if (d.reasoning) c.reasoning += d.reasoning;
      if (d.finishReason) c.finishReason = d.finishReason;
      for (const raw of d.toolCalls ?? []) mergeToolCall(c.toolCalls, raw);
    }
  }

  render(ctx: RenderContext, usage: TokenUsage): Record<string, unknown> {
    const choices = [...this.#choices.entries()].sort(([a], [b]) => a - b).map(([index, c]) => {
      if (ctx.operation === 'completion') return { index, text: c.text, logprobs: null, finish_reason: c.finishReason };
      const message: Record<string, unknown> = { role: c.role, content: c.text };
      if (c.reasoning) message.reasoning_content = c.reasoning;
      if (c.toolCalls.size > 0) message.tool_calls = [...c.toolCalls.values()];
      return { index, message, logprobs: null, finish_reason: c.finishReason };
    });
    return {
      id: ctx.id,
      object: ctx.operation === 'chat' ? 'chat.completion' : 'text_completion',
      created: ctx.created,
      model: ctx.clientModel,
      choices,
      usage: openAiUsage(usage),
    };
  }
}

function mergeToolCall(acc: ChoiceAcc['toolCalls'], t: ToolCallDelta): void {
  const existing = acc.get(t.index) ?? { function: { name: '', arguments: '' } };
  if (t.id) existing.id = t.id;
  if (t.type) existing.type = t.type;
  if (t.function?.name) existing.function.name += t.function.name;
  if (t.function?.arguments) existing.function.arguments += t.function.arguments;
  acc.set(t.index, existing);
}
