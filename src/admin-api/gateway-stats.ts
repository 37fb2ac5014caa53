/**
 * The gateway's own counters, read from its Prometheus metrics: requests, TTFT and tokens by model,
 * error answers by route and status, 429s by limit. Cumulative since the gateway started.
 */
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { quantile } from './histogram.js';
import type { Buckets, ModelStats, StatsSnapshot } from './stats-snapshot.js';

interface Sample {
  value: number;
  metricName?: string;
  labels: Partial<Record<string, string | number>>;
}

const label = (s: Sample, name: string): string => String(s.labels[name] ?? '');

const modelOf = (byModel: Map<string, ModelStats>, model: string): ModelStats => {
  let m = byModel.get(model);
  if (!m) {
    m = { model, requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, ttft: { count: 0, sumSeconds: 0, buckets: [] } };
    byModel.set(model, m);
  }
  return m;
};

/** Bucket samples of one histogram summed over every label but `le`, per model. */
function bucketsByModel(samples: readonly Sample[], suffix: string): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const s of samples) {
    if (!s.metricName?.endsWith(suffix)) continue;
    const model = label(s, 'gen_ai_request_model');
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    const bounds = out.get(model) ?? new Map<number, number>();
    bounds.set(le, (bounds.get(le) ?? 0) + s.value);
    out.set(model, bounds);
  }
  return out;
}

export async function gatewayStats(metrics: GatewayMetrics): Promise<Pick<StatsSnapshot, 'models' | 'errors' | 'rateLimited'>> {
  const byModel = new Map<string, ModelStats>();
  const duration = (await metrics.duration.get()).values as Sample[];
  for (const s of duration) {
    if (!s.metricName?.endsWith('_count')) continue;
    const m = modelOf(byModel, label(s, 'gen_ai_request_model'));
    m.requests += s.value;
    if (Number(label(s, 'status')) >= 400) m.errors += s.value;
  }
  const ttft = (await metrics.timeToFirstToken.get()).values as Sample[];
  for (const [model, bounds] of bucketsByModel(ttft, '_bucket')) {
    const buckets: Buckets = [...bounds.entries()].sort((a, b) => a[0] - b[0]);
    const m = modelOf(byModel, model);
    m.ttft.buckets = buckets;
    m.ttft.count = buckets.at(-1)?.[1] ?? 0;
    const p50 = quantile(buckets, 0.5);
    const p95 = quantile(buckets, 0.95);
    if (p50 !== undefined) m.ttft.p50Seconds = p50;
    if (p95 !== undefined) m.ttft.p95Seconds = p95;
  }
  for (const s of ttft) if (s.metricName?.endsWith('_sum')) modelOf(byModel, label(s, 'gen_ai_request_model')).ttft.sumSeconds += s.value;
  for (const s of (await metrics.tokens.get()).values as Sample[]) {
    const m = modelOf(byModel, label(s, 'gen_ai_request_model'));
    if (label(s, 'gen_ai_token_type') === 'input') m.inputTokens += s.value;
    else if (label(s, 'gen_ai_token_type') === 'output') m.outputTokens += s.value;
  }
  const errors: StatsSnapshot['errors'] = [];
  for (const s of (await metrics.requests.get()).values as Sample[]) {
    const status = Number(label(s, 'status'));
    if (status >= 400 && s.value > 0) errors.push({ route: label(s, 'route'), status, count: s.value });
  }
  const rateLimited = ((await metrics.rateLimited.get()).values as Sample[])
    .filter((s) => s.value > 0)
    .map((s) => ({ limit: label(s, 'limit'), scope: label(s, 'scope'), count: s.value }));
  return {
    models: [...byModel.values()].sort((a, b) => a.model.localeCompare(b.model)),
    errors: errors.sort((a, b) => a.status - b.status || a.route.localeCompare(b.route)),
    rateLimited: rateLimited.sort((a, b) => a.limit.localeCompare(b.limit) || a.scope.localeCompare(b.scope)),
  };
}
