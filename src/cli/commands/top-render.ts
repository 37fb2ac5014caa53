/**
 * `llmux top`'s screen as plain lines: workers, per-model rates, errors, usage per tenant. Rates
 * (requests/s, tokens/s, TTFT over the last refresh) come from diffing this snapshot against the
 * previous one; without a previous one (`--once`) they are `-` and the totals since the gateway
 * started are shown.
 */
import { bucketsSince, quantile } from '../../admin-api/histogram.js';
import type { ModelStats, StatsSnapshot } from '../../admin-api/stats-snapshot.js';

export interface RenderContext {
  url: string;
  previous?: StatsSnapshot;
  /** Lines are cut to this width (undefined: never). */
  width?: number;
  /** Shown under the title: why this is not the latest data. */
  problem?: string;
  live?: boolean;
}

type Cell = string | number | undefined;

/** Columns padded to their widest cell; numbers (and `-`) right-aligned. */
export function columns(head: readonly string[], rows: readonly Cell[][]): string[] {
  const text = rows.map((r) => head.map((_, i) => { const c = r[i]; return c === undefined ? '-' : String(c); }));
  const widths = head.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] as string).length)));
  const right = head.map((_, i) => rows.every((r) => r[i] === undefined || typeof r[i] === 'number' || /^[\d.,]+(%| ms| s|\/s)?$|^-$/.test(String(r[i]))));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (right[i] && i > 0 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(head), ...text.map(line)];
}

const pct = (v: number | undefined): string | undefined => (v === undefined ? undefined : `${Math.round(v * 100)}%`);
const ms = (seconds: number | undefined): string | undefined => (seconds === undefined ? undefined : `${Math.round(seconds * 1000)} ms`);
const rate = (v: number | undefined): string | undefined => (v === undefined ? undefined : `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`);
const count = (n: number): string => n.toLocaleString('en-US');

function modelRows(now: StatsSnapshot, before: StatsSnapshot | undefined): Cell[][] {
  const seconds = before ? (now.at - before.at) / 1000 : 0;
  const prior = new Map(before?.models.map((m) => [m.model, m]) ?? []);
  const per = (m: ModelStats, pick: (x: ModelStats) => number): number | undefined => {
    if (!before || seconds <= 0) return undefined;
    const was = prior.get(m.model);
    const d = pick(m) - (was ? pick(was) : 0);
    return d >= 0 ? d / seconds : undefined;
  };
  return now.models.map((m) => {
    // TTFT over the last refresh when first tokens came in it; otherwise since the gateway started.
    const recent = before ? bucketsSince(m.ttft.buckets, prior.get(m.model)?.ttft.buckets) : m.ttft.buckets;
    const buckets = (recent.at(-1)?.[1] ?? 0) > 0 ? recent : m.ttft.buckets;
    return [m.model, rate(per(m, (x) => x.requests)), count(m.requests), count(m.errors), ms(quantile(buckets, 0.5)), ms(quantile(buckets, 0.95)),
      rate(per(m, (x) => x.outputTokens)), count(m.outputTokens), count(m.inputTokens)];
  });
}

export function renderLines(now: StatsSnapshot, ctx: RenderContext): string[] {
  const out: string[] = [];
  const at = new Date(now.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  out.push(`llmux top  ${ctx.url}  ${at}  routers: ${now.routers.length === 0 ? 'none answered' : now.routers.join(', ')}${ctx.live ? '  (q: quit)' : ''}`);
  if (ctx.problem) out.push(`!! ${ctx.problem}`);
  out.push('', `WORKERS (${now.workers.length})`);
  if (now.workers.length === 0) out.push('  no workers registered');
  else {
    out.push(...columns(['WORKER', 'MODEL', 'FUNCTION', 'CLUSTER', 'STATE', 'HEALTH', 'CIRCUIT', 'IN-FLIGHT', 'LOAD', 'KV CACHE', 'QUEUE', 'SEEN'],
      now.workers.map((w) => [w.workerId, w.model, `${w.functionId}/${w.versionId}`, w.cluster, w.state, w.healthy ? 'healthy' : 'UNHEALTHY', w.breaker,
        `${w.inFlight}/${w.capacity}`, pct(w.load), pct(w.kvCacheUsage), w.engineWaiting, `${w.lastSeenMsAgo} ms`])).map((l) => `  ${l}`));
  }
  out.push('', ctx.previous ? 'MODELS (rates and TTFT over the last refresh; totals since the gateway started)' : 'MODELS (totals and TTFT since the gateway started)');
  if (now.models.length === 0) out.push('  no requests yet');
  else out.push(...columns(['MODEL', 'REQ/S', 'REQUESTS', 'ERRORS', 'TTFT P50', 'TTFT P95', 'TOKENS/S', 'OUT TOKENS', 'IN TOKENS'], modelRows(now, ctx.previous)).map((l) => `  ${l}`));
  out.push('', 'ERRORS (answers with status >= 400 since the gateway started)');
  if (now.errors.length === 0) out.push('  none');
  else out.push(...columns(['STATUS', 'ROUTE', 'COUNT'], now.errors.map((e) => [String(e.status), e.route, count(e.count)])).map((l) => `  ${l}`));
  for (const r of now.rateLimited) out.push(`  429 ${r.limit} limit (${r.scope}): ${count(r.count)}`);
  const window = `last ${now.usage.windowSeconds >= 120 ? `${Math.round(now.usage.windowSeconds / 60)} min` : `${now.usage.windowSeconds} s`}`;
  if (now.usage.errorCodes.length > 0) out.push(`  error codes (usage ledger, ${window}): ${now.usage.errorCodes.map((e) => `${e.code} ${count(e.count)}`).join(', ')}`);
  out.push('', `USAGE BY TENANT (usage ledger, every gateway, ${window})`);
  for (const u of now.usage.unread) out.push(`  not counted: ${u}`);
  if (now.usage.tenants.length === 0) out.push('  no requests in the window');
  else {
    out.push(...columns(['TENANT', 'REQUESTS', 'OK', 'FAILED', 'CANCELLED', 'PROMPT', 'COMPLETION', 'TOTAL TOKENS'],
      now.usage.tenants.map((t) => [t.group.tenant ?? '-', count(t.requests), count(t.ok), count(t.failed), count(t.cancelled),
        count(t.promptTokens), count(t.completionTokens), count(t.totalTokens)])).map((l) => `  ${l}`));
  }
  return ctx.width === undefined ? out : out.map((l) => (l.length > (ctx.width as number) ? l.slice(0, ctx.width) : l));
}
