/** The OpenAI wire dialect (vLLM, SGLang, trtllm-serve, llama.cpp, OpenAI and Azure): wire.ts's shapes. */
import type { Dialect } from '../dialect.js';
import { DONE_EVENT, errorBody, fullResponse, roleChunk, tokenChunk, toolCallChunks, toolCallsResponse, toolCallsTail, usageChunk } from '../wire.js';

/** `flat`: SGLang's and older vLLM's `{"object":"error",...}` errors instead of `{"error":{...}}`. */
export function openAiDialect(errors: 'nested' | 'flat' = 'nested'): Dialect {
  const error = (message: string, type: string, code: number, param: string | null = null): unknown =>
    errors === 'flat' ? { object: 'error', message, type, param, code } : errorBody(message, type, code, param);
  return {
    streamType: 'text/event-stream; charset=utf-8',
    head: (g) => (g.operation === 'chat' ? roleChunk(g) : ''),
    token: (g, text, _i, finish) => tokenChunk(g, text, finish),
    tail: (g, _finish, usage) => (g.includeUsage ? usageChunk(g, usage) : '') + DONE_EVENT,
    whole: (g, text, finish, usage) => fullResponse(g, text, finish, usage),
    failure: (message) => ({ status: 500, body: error(message, 'InternalServerError', 500) }),
    badRequest: (message, param) => ({ status: 400, body: error(message, 'BadRequestError', 400, param) }),
    streamError: (message) => `data: ${JSON.stringify(error(message, 'InternalServerError', 500))}\n\n`,
    tools: { events: toolCallChunks, tail: toolCallsTail, whole: toolCallsResponse },
  };
}
