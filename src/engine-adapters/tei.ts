/**
 * Hugging Face text-embeddings-inference (`text-embeddings-router`): embeddings only. `POST /embed`
 * with `{inputs}` (texts or token ids; `truncate`, `normalize`, `dimensions` passed on) answers a
 * bare array of vectors, with the tokens it computed in the `x-compute-tokens` header. Errors are
 * `{"error", "error_type"}` (413 for too big a batch, 422 for input it cannot tokenize). A chat or
 * completion request gets the 400 `unsupported`.
 */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { checkedVectors, withUsage } from './embeddings-body.js';
import { engineGarbled } from './engine-errors.js';
import { usageFrom } from './engine-values.js';
import { checkSettings, createHttpAdapter } from './http-adapter.js';
import { bearerAuth, defined } from './native-request.js';

export function createTeiAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('tei', options.settings, []);
  const kind = 'tei';
  return createHttpAdapter({
    kind,
    options,
    headers: bearerAuth(options.apiKey),
    healthPath: '/health',
    generates: false,
    call: () => {
      throw new Error('tei does not generate'); // never called: the adapter refuses generation first
    },
    read: () => {
      throw new Error('tei does not generate');
    },
    embeddings: {
      call: (request) => ({
        path: '/embed',
        accept: 'application/json',
        body: { inputs: request.input, ...defined({ truncate: request.body.truncate, normalize: request.body.normalize, dimensions: request.dimensions }) },
      }),
      read(request, text, headers) {
        let vectors: unknown;
        try {
          vectors = JSON.parse(text);
        } catch {
          throw engineGarbled(kind, text);
        }
        const computed = headers['x-compute-tokens'];
        return withUsage({ vectors: checkedVectors(kind, request, vectors) }, usageFrom({ promptTokens: typeof computed === 'string' ? Number(computed) : undefined }));
      },
    },
  });
}
