/** vLLM's OpenAI-compatible wire shapes, as the simulator writes them. */
import { randomBytes } from 'node:crypto';

export type SimOperation = 'chat' | 'completion';

export interface Generation {
  operation: SimOperation;
  id: string;
  created: number;
  model: string;
}

export function newGeneration(operation: SimOperation, model: string): Generation {
  const id = `${operation === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(16).toString('hex')}`;
  return { operation, id, created: Math.floor(Date.now() / 1000), model };
}

export interface SimUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One streamed chunk; `usage: null` is what vLLM puts on every chunk when include_usage is on. */
export function chunk(g: Generation, piece: { role?: boolean; text?: string; finish?: string | null }, withUsageNull: boolean): string {
  const choice = g.operation === 'chat'
    ? {
        index: 0,
        delta: piece.role ? { role: 'assistant', content: '' } : { content: piece.text ?? '' },
        logprobs: null,
        finish_reason: piece.finish ?? null,
      }
    : { index: 0, text: piece.text ?? '', logprobs: null, finish_reason: piece.finish ?? null, stop_reason: null };
  const body = {
    id: g.id,
    object: g.operation === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: g.created,
    model: g.model,
    choices: [choice],
    ...(withUsageNull ? { usage: null } : {}),
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

export function usageChunk(g: Generation, usage: SimUsage): string {
  const body = {
    id: g.id,
    object: g.operation === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: g.created,
    model: g.model,
    choices: [],
    usage,
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

export const done = 'data: [DONE]\n\n';

export function fullResponse(g: Generation, text: string, finish: string, usage: SimUsage): Record<string, unknown> {
  const choice = g.operation === 'chat'
    ? { index: 0, message: { role: 'assistant', content: text, tool_calls: [] }, logprobs: null, finish_reason: finish, stop_reason: null }
    : { index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null };
  return {
    id: g.id,
    object: g.operation === 'chat' ? 'chat.completion' : 'text_completion',
    created: g.created,
    model: g.model,
    choices: [choice],
    usage,
  };
}

/** vLLM's (≥ 0.10.1) error body. */
export function errorBody(message: string, type: string, code: number, param: string | null = null): Record<string, unknown> {
  return { error: { message, type, param, code } };
}
