/**
 * Prompt tokens, counted before admission (DESIGN.md §3 step 1): the gateway knows what a request
 * costs before any engine is called, and refuses one that cannot fit the model's context.
 */
import type { ChatMessage } from '../../engine-adapters/adapter.js';
import { invalidRequest, type LlmuxError } from '../../errors.js';
import type { TokenCounter } from '../../tokenize/index.js';
import type { ValidatedRequest } from './request-schema.js';

export interface PromptCount {
  /** Tokens of every prompt together (what usage reports). */
  total: number;
  /** Tokens of the longest single prompt (what must fit the context; a completions prompt array is one request per prompt). */
  longest: number;
  /** Answers the engine generates: one per prompt of a completions prompt array, one for a chat. */
  answers: number;
}

/** Counts the prompt as the model sees it: a chat with its template, completion prompts as text or token ids. */
export async function countPrompt(tokens: TokenCounter, tokenizer: string, request: ValidatedRequest): Promise<PromptCount> {
  const { body } = request;
  if (request.operation === 'chat') {
    const total = await tokens.countChat(tokenizer, body.messages as ChatMessage[]);
    return { total, longest: total, answers: 1 };
  }
  const prompt = body.prompt as string | string[] | number[] | number[][];
  let counts: number[];
  if (typeof prompt === 'string') counts = await tokens.countTexts(tokenizer, [prompt]);
  else if (typeof prompt[0] === 'string') counts = await tokens.countTexts(tokenizer, prompt as string[]);
  else if (typeof prompt[0] === 'number') counts = [prompt.length];
  else counts = (prompt as number[][]).map((ids) => ids.length);
  return { total: counts.reduce((a, b) => a + b, 0), longest: Math.max(...counts), answers: counts.length };
}

/** The completion budget the client asked for, if any. */
/** The most completion tokens a request may ask for when its model sets no `contextLength` (`--max-tokens-ceiling`). */
export const defaultMaxTokensCeiling = 32_768;

export function requestedMaxTokens(request: ValidatedRequest): number | undefined {
  const { body } = request;
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' ? value : undefined;
}

/**
 * A 400 when the prompt plus the requested completion cannot fit `contextLength` (without
 * `max_tokens`, the prompt must leave room for at least one token), with the numbers.
 */
export function contextLengthError(prompt: Pick<PromptCount, 'longest'> & Partial<PromptCount>, maxTokens: number | undefined, contextLength: number | undefined, request: ValidatedRequest,
  ceiling = defaultMaxTokensCeiling): LlmuxError | undefined {
  if (contextLength === undefined) {
    // Without a context length nothing bounds the completion but this: one request once streamed 11.6 MB in 3 s.
    return maxTokens !== undefined && maxTokens > ceiling
      ? invalidRequest('max_tokens', `max_tokens ${maxTokens} is more than this gateway allows for a model without a context length (${ceiling}); ask for fewer, or set the model's llmConfig.contextLength`)
      : undefined;
  }
  const completion = maxTokens ?? 1;
  if (prompt.longest + completion <= contextLength) return undefined;
  const where = request.operation === 'chat' ? 'messages' : 'prompt';
  const asked = maxTokens === undefined
    ? `your ${where} take ${prompt.longest} tokens, leaving no room for a completion`
    : `you requested ${prompt.longest + completion} tokens (${prompt.longest} in the ${where}, ${completion} in the completion)`;
  return invalidRequest(
    maxTokens === undefined ? where : 'max_tokens',
    `This model's maximum context length is ${contextLength} tokens. However, ${asked}. Please reduce the length of the ${where} or completion.`,
  );
}
