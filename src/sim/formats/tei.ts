/**
 * Hugging Face text-embeddings-inference: `POST /embed` with `{inputs}` (texts or token ids) answers
 * a bare array of vectors and the tokens it computed in `x-compute-tokens`; errors are
 * `{"error", "error_type"}` (413 for a batch over `--max-client-batch-size`, 422 for input it
 * cannot take). No generation: every other path is a 404.
 */
import type { Dialect } from '../dialect.js';
import { parseEmbedRequest } from '../embeddings.js';
import type { SimFormat } from './sim-format.js';

/** TEI's default `--max-client-batch-size`. */
const maxClientBatchSize = 32;

const error = (status: number, message: string, type: string) => ({ status, body: { error: message, error_type: type } });
const never = (): string => {
  throw new Error('tei does not generate');
};

const teiErrors: Dialect = {
  streamType: 'application/json',
  head: never, token: never, tail: never, whole: never, streamError: never,
  failure: (message) => error(500, message, 'backend'),
  badRequest: (message) => error(422, message, 'validation'),
};

export const tei: SimFormat = {
  name: 'tei',
  routes: [
    {
      method: 'POST', path: '/embed',
      embed: {
        dialect: teiErrors,
        parse: (body) => parseEmbedRequest(body, 'inputs'),
        refuse: (request) => (request.inputs.length > maxClientBatchSize
          ? error(413, `batch size ${request.inputs.length} > maximum allowed batch size ${maxClientBatchSize}`, 'validation')
          : undefined),
        answer: ({ vectors, tokens }) => ({ status: 200, body: vectors, headers: { 'x-compute-tokens': String(tokens), 'x-compute-characters': '0' } }),
      },
    },
    { method: 'GET', path: '/health', respond: () => ({ status: 200, body: '', contentType: 'text/plain' }) },
    { method: 'GET', path: '/info', respond: (env) => ({ status: 200, body: { model_id: env.servedModel, max_client_batch_size: maxClientBatchSize, max_input_length: 512 } }) },
  ],
  notFound: { status: 404, body: '', contentType: 'text/plain' },
  errors: teiErrors,
};
