/**
 * llama.cpp's server (`llama-server`, OpenAI-compatible; `/metrics` when started with --metrics). It
 * continues a trailing assistant message by itself (its default `--prefill-assistant`) and has no
 * `continue_final_message`.
 */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { checkSettings } from './http-adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

export function createLlamacppAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('llamacpp', options.settings, []);
  return createOpenAiCompatibleAdapter({
    ...options,
    kind: 'llamacpp',
    // llama-server started with --embeddings; without it the engine's own 501 is passed on.
    paths: { embeddings: () => '/v1/embeddings' },
    continuation: { chat: 'trailing-assistant', completion: true },
    loadMetrics: {
      running: ['llamacpp:requests_processing'],
      waiting: ['llamacpp:requests_deferred'],
      kvCacheUsage: ['llamacpp:kv_cache_usage_ratio'],
    },
  });
}
