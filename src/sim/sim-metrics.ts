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
  /** Sequences preempted for lack of KV blocks (engine timing: engine.ts). */
  preemptions: number;
  /** Seconds from a request's arrival to its first token, and between its tokens, as clients see them. */
  ttft: Histogram;
  itl: Histogram;
  /** Continuations received (continuation.ts): `exact` when the partial answer was the simulator's own text. */
  continuations: { exact: number; inexact: number };
}

export function newCounters(): SimCounters {
  return { requestsByModel: new Map(), finished: { stop: 0, length: 0, abort: 0 }, promptTokens: 0, generationTokens: 0, aborted: 0, prefixCacheQueries: 0, prefixCacheHits: 0, preemptions: 0,
    ttft: new Histogram(ttftBuckets), itl: new Histogram(itlBuckets), continuations: { exact: 0, inexact: 0 } };
}

/** vLLM's bucket bounds (vllm/v1/metrics/loggers.py), in seconds. */
const ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const itlBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (seconds <= (this.bounds[i] as number)) this.counts[i] = (this.counts[i] as number) + 1;
  }
}

export interface SimGauges {
  running: number;
  waiting: number;
  /** 0..1: fixed timing, running / capacity; engine timing, the share of KV blocks in use (idle cached blocks are free, as in vLLM). */
  kvCacheUsage: number;
  /** Engine timing only: the KV cache's shape, for vllm:cache_config_info. */
  cacheConfig?: { blockSize: number; numGpuBlocks: number };
}

function histogram(name: string, help: string, labels: string, h: Histogram): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} histogram`,
    ...h.bounds.map((le, i) => `${name}_bucket{${labels},le="${le}"} ${h.counts[i]}`),
    `${name}_bucket{${labels},le="+Inf"} ${h.count}`,
    `${name}_sum{${labels}} ${h.sum}`,
    `${name}_count{${labels}} ${h.count}`,
  ];
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
    ...family('vllm:num_preemptions_total', 'counter', 'Cumulative number of preemption from the engine.', [[`{${engine}}`, counters.preemptions]]),
    ...histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', engine, counters.ttft),
    ...histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', engine, counters.itl),
    ...(gauges.cacheConfig
      ? family('vllm:cache_config_info', 'gauge', 'Information of the LLMEngine CacheConfig', [
        [`{block_size="${gauges.cacheConfig.blockSize}",enable_prefix_caching="True",num_gpu_blocks="${gauges.cacheConfig.numGpuBlocks}"}`, 1],
      ])
      : []),
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
