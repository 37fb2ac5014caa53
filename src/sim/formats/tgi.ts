/**
 * Hugging Face TGI: `/generate_stream` sends one event per token, the last with the whole
 * `generated_text` (and `details` when asked); no [DONE]. Errors are `{"error","error_type"}`.
 */
import type { Dialect } from '../dialect.js';
import { sse } from '../dialect.js';
import type { FinishReason, Generation, SimUsage } from '../wire.js';
import { nativeRequest, nestedInteger, textPrompt } from './native-request.js';
import type { Body, SimFormat, SimRoute } from './sim-format.js';

const tgiFinish = (finish: FinishReason): string => (finish === 'length' ? 'length' : 'eos_token');
const details = (g: Generation, finish: FinishReason, usage: SimUsage): unknown =>
  g.details ? { finish_reason: tgiFinish(finish), generated_tokens: usage.completion_tokens, seed: null } : null;

const tgiDialect: Dialect = {
  streamType: 'text/event-stream',
  head: () => '',
  token: (g, text, i, finish, soFar, usage) => sse({
    index: i + 1,
    token: { id: 1000 + i, text, logprob: -0.1, special: false },
    generated_text: finish === null ? null : soFar,
    details: finish === null ? null : details(g, finish, usage),
  }),
  tail: () => '',
  whole: (g, text, finish, usage) => (g.details ? { generated_text: text, details: details(g, finish, usage) } : { generated_text: text }),
  failure: (message) => ({ status: 500, body: { error: message, error_type: 'generation' } }),
  badRequest: (message) => ({ status: 422, body: { error: message, error_type: 'validation' } }),
  streamError: (message) => sse({ error: message, error_type: 'generation' }),
};

function parse(stream: boolean) {
  return (body: Body) => {
    const parameters = body.parameters as Body | undefined;
    return nativeRequest({
      operation: 'completion', prompt: textPrompt(body, 'inputs'), maxTokens: nestedInteger(body, 'parameters', 'max_new_tokens'),
      stream, details: parameters?.details === true,
    });
  };
}

const ok = { status: 200, body: '', contentType: 'text/plain' };
const generateRoutes: SimRoute[] = [
  { method: 'POST', path: '/generate_stream', generate: { dialect: tgiDialect, parse: parse(true) } },
  { method: 'POST', path: '/generate', generate: { dialect: tgiDialect, parse: parse(false) } },
];

export const tgi: SimFormat = {
  name: 'tgi',
  routes: [
    ...generateRoutes,
    { method: 'GET', path: '/health', respond: () => ok },
    { method: 'GET', path: '/info', respond: (env) => ({ status: 200, body: { model_id: env.servedModel, max_input_tokens: 4095, max_total_tokens: 8192, version: '3.3.6' } }) },
  ],
  notFound: { status: 404, body: '', contentType: 'text/plain' },
  errors: tgiDialect,
};
