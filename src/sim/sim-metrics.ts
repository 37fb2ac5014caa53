/** The simulator's `/metrics`: vLLM's metric names, plus counters of its own for tests. */
export interface SimCounters {
  requestsByModel: Map<string, number>;
  success: { stop: number; length: number; abort: number };
  promptTokens: number;
  generationTokens: number;
  aborted: number;
}

export function newCounters(): SimCounters {
  return { requestsByModel: new Map(), success: { stop: 0, length: 0, abort: 0 }, promptTokens: 0, generationTokens: 0, aborted: 0 };
}

const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(c: SimCounters, gauges: { running: number; waiting: number; kvUsage: number }, modelName: string): string {
  const m = `model_name="${label(modelName)}"`;
  const lines = [
    '# HELP vllm:num_requests_running Number of requests in model execution batches.',
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{${m}} ${gauges.running}`,
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{${m}} ${gauges.waiting}`,
    '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{${m}} ${gauges.kvUsage}`,
    '# HELP vllm:request_success_total Count of finished requests by finish reason.',
    '# TYPE vllm:request_success_total counter',
    ...(['stop', 'length', 'abort'] as const).map((r) => `vllm:request_success_total{${m},finished_reason="${r}"} ${c.success[r]}`),
    '# HELP vllm:prompt_tokens_total Number of prefill tokens processed.',
    '# TYPE vllm:prompt_tokens_total counter',
    `vllm:prompt_tokens_total{${m}} ${c.promptTokens}`,
    '# HELP vllm:generation_tokens_total Number of generation tokens processed.',
    '# TYPE vllm:generation_tokens_total counter',
    `vllm:generation_tokens_total{${m}} ${c.generationTokens}`,
    '# HELP llmux_sim_aborted_requests_total Requests whose client went away before the answer was complete.',
    '# TYPE llmux_sim_aborted_requests_total counter',
    `llmux_sim_aborted_requests_total ${c.aborted}`,
    '# HELP llmux_sim_requests_total Requests received, by the model name the client sent.',
    '# TYPE llmux_sim_requests_total counter',
    ...[...c.requestsByModel].map(([model, n]) => `llmux_sim_requests_total{model="${label(model)}"} ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}
