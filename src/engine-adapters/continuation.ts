/**
 * Mid-stream migration, engine side: the request that makes an engine carry on an answer another
 * engine started. Two shapes cover every engine that can:
 *   chat        the delivered text becomes a final assistant message, flagged with vLLM's
 *               `continue_final_message` (and `add_generation_prompt: false`) for engines that need
 *               the flag, bare for engines that continue a trailing assistant message by themselves;
 *   completion  the delivered text is appended to the prompt.
 * The remaining budget, when the client set one, replaces the client's limit (`max_tokens`, which
 * every adapter maps to its engine's own field). Text-only endpoints (TGI, Triton, SGLang
 * /generate) read the same flagged body: promptText renders the chat without its final message and
 * appends that message's text.
 */
import type { ChatMessage, Continuation, EngineRequest } from './adapter.js';

type Body = Readonly<Record<string, unknown>>;

export interface ContinuationSupport {
  /**
   * How the engine continues a chat's final assistant message: it needs `continue_final_message`
   * (vLLM, SGLang), or it continues a trailing assistant message by itself (llama.cpp, Ollama).
   * Absent: chats cannot be continued.
   */
  chat?: 'continue-final-message' | 'trailing-assistant';
  /** Whether the prompt plus the delivered text continues a completion (not when the engine wraps the prompt in a chat template). */
  completion: boolean;
}

/** vLLM's way, which the text-only adapters understand too (promptText). */
export const continueFinalMessage: ContinuationSupport = { chat: 'continue-final-message', completion: true };

export function continueRequest(support: ContinuationSupport, request: EngineRequest, continuation: Continuation): EngineRequest | undefined {
  if (request.operation === 'completion') {
    const body = continuedCompletion(support, request.body, continuation.text);
    return body && { ...request, body: withBudget(body, continuation.maxTokens) };
  }
  // A Responses request is a chat body: it is continued as a chat, on the engine's chat endpoint.
  const body = continuedChat(support, request.body, continuation.text);
  return body && { ...request, operation: 'chat', body: withBudget(body, continuation.maxTokens) };
}

function continuedChat(support: ContinuationSupport, body: Body, text: string): Body | undefined {
  if (!support.chat) return undefined;
  const messages = body.messages as readonly ChatMessage[];
  const last = messages.at(-1);
  // A request that was itself a prefill already continues its final message: the text goes on its end.
  const prefill = last?.role === 'assistant' && (support.chat === 'trailing-assistant' || body.continue_final_message === true);
  let continued: ChatMessage[];
  if (prefill) {
    if (typeof last.content !== 'string') return undefined;
    continued = [...messages.slice(0, -1), { ...last, content: last.content + text }];
  } else {
    continued = [...messages, { role: 'assistant', content: text }];
  }
  return support.chat === 'continue-final-message'
    ? { ...body, messages: continued, continue_final_message: true, add_generation_prompt: false }
    : { ...body, messages: continued };
}

function continuedCompletion(support: ContinuationSupport, body: Body, text: string): Body | undefined {
  // A list of prompts or token ids cannot take text; `echo` would repeat the prompt, delivered text and all.
  if (!support.completion || typeof body.prompt !== 'string' || body.echo === true) return undefined;
  return { ...body, prompt: body.prompt + text };
}

/** The remaining budget as `max_tokens`; without one the client's own (absent) limit stands. */
function withBudget(body: Body, maxTokens: number | undefined): Body {
  if (maxTokens === undefined) return body;
  const { max_completion_tokens: _dropped, ...rest } = body;
  return { ...rest, max_tokens: maxTokens };
}
