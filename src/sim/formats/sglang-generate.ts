/**
 * SGLang's server with its native `POST /generate`: streamed events carry the CUMULATIVE text so
 * far and `meta_info` with counts; `data: [DONE]` ends the stream.
 */
import type { Dialect } from '../dialect.js';
import { sse } from '../dialect.js';
import type { FinishReason, Generation, SimUsage } from '../wire.js';
import { nativeRequest, nestedInteger, optionalBoolean, textPrompt } from './native-request.js';
import { sglangOpenAi } from './openai-servers.js';
import type { SimFormat } from './sim-format.js';

const finishInfo = (finish: FinishReason | null, usage: SimUsage): unknown =>
  finish === null ? null : finish === 'length' ? { type: 'length', length: usage.completion_tokens } : { type: 'stop', matched: 2 };

const event = (g: Generation, text: string, finish: FinishReason | null, usage: SimUsage): Record<string, unknown> => ({
  text,
  meta_info: { id: g.id, finish_reason: finishInfo(finish, usage), prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, cached_tokens: 0 },
});

const flatError = (message: string, code: number): unknown => ({ object: 'error', message, type: code === 400 ? 'BadRequestError' : 'InternalServerError', param: null, code });

export const sglangGenerateDialect: Dialect = {
  streamType: 'text/event-stream; charset=utf-8',
  head: () => '',
  token: (g, _text, _i, finish, soFar, usage) => sse(event(g, soFar, finish, usage)),
  tail: () => 'data: [DONE]\n\n',
  whole: (g, text, finish, usage) => event(g, text, finish, usage),
  failure: (message) => ({ status: 500, body: flatError(message, 500) }),
  badRequest: (message) => ({ status: 400, body: flatError(message, 400) }),
  streamError: (message) => sse({ error: { message, code: 500 } }),
};

export const sglangGenerate: SimFormat = {
  ...sglangOpenAi,
  name: 'sglang-generate',
  routes: [
    ...sglangOpenAi.routes,
    {
      method: 'POST',
      path: '/generate',
      generate: {
        dialect: sglangGenerateDialect,
        parse: (body) => nativeRequest({
          operation: 'completion', prompt: textPrompt(body, 'text'), maxTokens: nestedInteger(body, 'sampling_params', 'max_new_tokens'),
          stream: optionalBoolean(body, 'stream', false),
        }),
      },
    },
  ],
};

/** `sglang` serves /generate too: one SGLang server under either name. */
export const sglang: SimFormat = { ...sglangGenerate, name: 'sglang' };
