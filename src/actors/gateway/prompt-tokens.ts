/**
 * Prompt tokens, counted before admission (DESIGN.md §3 step 1): the gateway knows what a request
 * costs before any engine is called, and refuses one that cannot fit the model's context.
 */
import { invalidRequest, type LlmuxError } from '../../errors.js';
import { operations, type ValidatedRequest } from '../../operations/index.js';
import type { PromptCount } from '../../operations/operation.js';
import type { TokenCounter } from '../../tokenize/index.js';

export type { PromptCount } from '../../operations/operation.js';

/** Counts the prompt as the model sees it, the operation's way (a chat with its template, completion prompts as text or token ids, …). */
export function countPrompt(tokens: TokenCounter, tokenizer: string, request: ValidatedRequest): Promise<PromptCount> {
  return operations[request.operation].countPrompt(tokens, tokenizer, request.body);
}

/** The most completion tokens a request may ask for when its model sets no `contextLength` (`--max-tokens-ceiling`). */
export const defaultMaxTokensCeiling = 32_768;

/** The completion budget the client asked for, if any. */
export function requestedMaxTokens(request: ValidatedRequest): number | undefined {
  return operations[request.operation].maxTokens(request.body);
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
  const where = operations[request.operation].promptField;
  const asked = maxTokens === undefined
    ? `your ${where} take ${prompt.longest} tokens, leaving no room for a completion`
    : `you requested ${prompt.longest + completion} tokens (${prompt.longest} in the ${where}, ${completion} in the completion)`;
  return invalidRequest(
    maxTokens === undefined ? where : 'max_tokens',
    `This model's maximum context length is ${contextLength} tokens. However, ${asked}. Please reduce the length of the ${where} or completion.`,
  );
}
