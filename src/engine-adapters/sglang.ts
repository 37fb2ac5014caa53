/** SGLang's OpenAI-compatible server (`python -m sglang.launch_server`); its KV events with `--engine-option kv-events=tcp://…`. */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { continueFinalMessage } from './continuation.js';
import { checkSettings } from './http-adapter.js';
import { kvEventSettings, kvEventSource } from './kv-event-source.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';
import type { LoadMetricNames } from './prometheus-text.js';

export const sglangLoadMetrics: LoadMetricNames = {
  running: ['sglang:num_running_reqs'],
  waiting: ['sglang:num_queue_reqs'],
  kvCacheUsage: ['sglang:token_usage'],
};

export function createSglangAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('sglang', options.settings, kvEventSettings);
  const kvEvents = kvEventSource('sglang', options.settings);
  const adapter = createOpenAiCompatibleAdapter({ ...options, kind: 'sglang', loadMetrics: sglangLoadMetrics, continuation: continueFinalMessage });
  return kvEvents ? { ...adapter, kvEvents } : adapter;
}
