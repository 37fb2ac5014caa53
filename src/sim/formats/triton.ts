/**
 * Triton with the TensorRT-LLM backend: `/v2/models/{model}/generate_stream` sends one
 * `text_output` delta per token and simply ends; no finish reason, no counts. A failure after the
 * 200 is a `data: {"error": ...}` event.
 */
import type { Dialect } from '../dialect.js';
import { sse } from '../dialect.js';
import type { Generation } from '../wire.js';
import { nativeRequest, textPrompt } from './native-request.js';
import { positiveInteger } from '../sim-request.js';
import type { Body, SimFormat } from './sim-format.js';

const output = (g: Generation, text: string): Record<string, unknown> => ({
  model_name: g.model, model_version: '1', sequence_end: false, sequence_id: 0, sequence_start: false, text_output: text,
});

const tritonDialect: Dialect = {
  streamType: 'text/event-stream',
  head: () => '',
  token: (g, text) => sse(output(g, text)),
  tail: () => '',
  whole: (g, text) => output(g, text),
  failure: (message) => ({ status: 500, body: { error: message } }),
  badRequest: (message) => ({ status: 400, body: { error: message } }),
  streamError: (message) => sse({ error: message }),
};

const parse = (stream: boolean) => (body: Body, pathModel: string | undefined) =>
  nativeRequest({ operation: 'completion', model: pathModel, prompt: textPrompt(body, 'text_input'), maxTokens: positiveInteger(body, 'max_tokens'), stream });

export const triton: SimFormat = {
  name: 'triton',
  routes: [
    { method: 'POST', path: /^\/v2\/models\/([^/]+)\/generate_stream$/, generate: { dialect: tritonDialect, parse: parse(true) } },
    { method: 'POST', path: /^\/v2\/models\/([^/]+)\/generate$/, generate: { dialect: tritonDialect, parse: parse(false) } },
    { method: 'GET', path: '/v2/health/ready', respond: () => ({ status: 200, body: '', contentType: 'text/plain' }) },
  ],
  notFound: { status: 404, body: { error: 'Not Found' } },
  errors: tritonDialect,
};
