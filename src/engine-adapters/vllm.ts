/** vLLM's OpenAI-compatible server (`vllm serve`). */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { continueFinalMessage } from './continuation.js';
import { checkSettings } from './http-adapter.js';
import { kvEventSettings, kvEventSource } from './kv-event-source.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

export function createVllmAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('vllm', options.settings, kvEventSettings);
  const kvEvents = kvEventSource('vllm', options.settings);
  const adapter = createOpenAiCompatibleAdapter({
    ...options,
    kind: 'vllm',
    paths: { embeddings: () => '/v1/embeddings', responses: '/v1/responses' },
    continuation: continueFinalMessage,
    loadMetrics: {
      running: ['vllm:num_requests_running'],
      waiting: ['vllm:num_requests_waiting'],
      kvCacheUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
      prefixCacheQueries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
      prefixCacheHits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
    },
  });
  return kvEvents ? { ...adapter, kvEvents } : adapter;
}
