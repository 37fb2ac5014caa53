/**
 * The simulator's `/metrics`, in Prometheus text format, written by hand: a dozen lines do not need
 * a registry. vLLM's metric names and labels (V1 engine: `model_name` and `engine`), so whatever
 * scrapes a real engine can scrape the simulator, plus `llmux_sim_*` counters for tests.
 */

export interface SimCounters {
  /** Requests received, by the model name the client sent. */
  requestsByModel: Map<string, number>;
  /** Finished requests by vLLM's finish reason; a client that went away finishes as `abort`. */
  finished: { stop: number; length: number; abort: number };
  promptTokens: number;
  generationTokens: number;
  aborted: number;
  /** Prompt tokens looked up in the prefix cache, and the share of them found (vLLM counts tokens). */
  prefixCacheQueries: number;
  prefixCacheHits: number;
  /** Continuations received (continuation.ts): `exact` when the partial answer was the simulator's own text. */
  continuations: { exact: number; inexact: number };
}

export function newCounters(): SimCounters {
  return { requestsByModel: new Map(), finished: { stop: 0, length: 0, abort: 0 }, promptTokens: 0, generationTokens: 0, aborted: 0, prefixCacheQueries: 0, prefixCacheHits: 0, continuations: { exact: 0, inexact: 0 } };
}

export interface SimGauges {
  running: number;
  waiting: number;
  /** 0..1: running / capacity (the prefix cache's blocks are not counted as KV usage). */
  kvCacheUsage: number;
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function family(name: string, type: 'gauge' | 'counter', help: string, samples: Array<[labels: string, value: number]>): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([labels, value]) => `${name}${labels} ${value}`)];
}

export function renderMetrics(servedModel: string, counters: SimCounters, gauges: SimGauges): string {
  const engine = `model_name="${escapeLabel(servedModel)}",engine="0"`;
  const lines = [
    ...family('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', [[`{${engine}}`, gauges.running]]),
    ...family('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', [[`{${engine}}`, gauges.waiting]]),
    ...family('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', [[`{${engine}}`, gauges.kvCacheUsage]]),
    ...family(
      'vllm:request_success_total',
      'counter',
      'Count of successfully processed requests.',
      (['stop', 'length', 'abort'] as const).map((reason) => [`{${engine},finished_reason="${reason}"}`, counters.finished[reason]]),
    ),
    ...family('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', [[`{${engine}}`, counters.promptTokens]]),
    ...family('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', [[`{${engine}}`, counters.generationTokens]]),
    ...family('vllm:prefix_cache_queries_total', 'counter', 'Prefix cache queries, in terms of number of queried tokens.', [[`{${engine}}`, counters.prefixCacheQueries]]),
    ...family('vllm:prefix_cache_hits_total', 'counter', 'Prefix cache hits, in terms of number of cached tokens.', [[`{${engine}}`, counters.prefixCacheHits]]),
    ...family('llmux_sim_aborted_requests_total', 'counter', 'Requests whose client went away before the answer was complete.', [['', counters.aborted]]),
    ...family(
      'llmux_sim_requests_total',
      'counter',
      'Generation requests received, by the model name the client sent.',
      [...counters.requestsByModel].map(([model, n]) => [`{model="${escapeLabel(model)}"}`, n]),
    ),
  ];
  return `${lines.join('\n')}\n`;
}
