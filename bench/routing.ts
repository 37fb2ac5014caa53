/**
 * Routing methods compared on one workload, side by side in one run: a shared-prefix chat workload
 * (multi-turn conversations over a few long system prompts) near saturation, against four engine
 * simulators that model a prefix cache (a cached prompt share cuts time to first token). Each method
 * gets a fresh stack (cold caches) and the same conversations. Then the router's decision time
 * with 10, 100 and 1,000 workers. Prints tables and writes JSON to bench/results/.
 *
 *   npm run bench:routing [-- --conversations 64 --turns 4 --concurrency 20 --methods least-busy,prefix-aware]
 */
import { parseArgs } from 'node:util';
import { routingMethods, type RoutingMethod } from '../src/control/function.schema.js';
import { startLocalStack } from '../src/launch/local-stack.js';
import { silentLogger } from '../src/observability/logger.js';
import { runChatWorkload } from './lib/chat-workload.js';
import { timeDecisions } from './lib/decision-time.js';
import { fmt, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';
import { mean, percentile } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    conversations: { type: 'string', default: '64' },
    turns: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '20' },
    'max-tokens': { type: 'string', default: '16' },
    'system-prompts': { type: 'string', default: '8' },
    'system-prompt-chars': { type: 'string', default: '3000' },
    'ttft-ms': { type: 'string', default: '200' },
    'itl-ms': { type: 'string', default: '8' },
    'engine-concurrency': { type: 'string', default: '4' },
    'cache-blocks': { type: 'string', default: '160' },
    methods: { type: 'string', default: routingMethods.join(',') },
    'decisions': { type: 'string', default: '2000' },
  },
});
const num = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got ${String(values[name])}`);
  return n;
};
const methods = String(values.methods).split(',').map((m) => m.trim()) as RoutingMethod[];
for (const m of methods) {
  if (!(routingMethods as readonly string[]).includes(m)) throw new Error(`unknown routing method '${m}'; known: ${routingMethods.join(', ')}`);
}
const workers = num('workers');
const sim = { ttftMs: num('ttft-ms'), itlMs: num('itl-ms'), maxConcurrency: num('engine-concurrency'), prefixCacheBlocks: num('cache-blocks'), cachedTtftFraction: 0.1 };

interface MethodResult {
  method: RoutingMethod;
  requests: number;
  errors: number;
  firstError?: string;
  ttftMeanMs: number;
  ttftP99Ms: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
  cacheHitRate: number;
  requestsPerWorker: number[];
}

async function runMethod(method: RoutingMethod): Promise<MethodResult> {
  const stack = await startLocalStack({ log: silentLogger(), workers, sim, llmConfig: { routingMethod: method }, workerCapacity: sim.maxConcurrency * 4 });
  try {
    const workload = await runChatWorkload({
      url: stack.gatewayUrl, model: stack.models[0] as string, systemPrompts: num('system-prompts'), systemPromptChars: num('system-prompt-chars'),
      conversations: num('conversations'), turns: num('turns'), maxTokens: num('max-tokens'), concurrency: num('concurrency'),
    });
    const stats = stack.sims.map((s) => s.stats());
    const queries = stats.reduce((n, s) => n + s.prefixCache.queries, 0);
    const hits = stats.reduce((n, s) => n + s.prefixCache.hits, 0);
    const ttft = [...workload.ttftMs].sort((a, b) => a - b);
    return {
      method, requests: workload.requests, errors: workload.errors, ...(workload.firstError ? { firstError: workload.firstError } : {}),
      ttftMeanMs: mean(ttft), ttftP99Ms: percentile(ttft, 99),
      requestsPerSecond: workload.requests / workload.seconds, tokensPerSecond: workload.completionTokens / workload.seconds,
      cacheHitRate: queries > 0 ? hits / queries : 0, requestsPerWorker: stats.map((s) => s.requestsTotal),
    };
  } finally {
    await stack.stop();
  }
}

say(`bench:routing — ${workers} simulated engines (TTFT ${sim.ttftMs} ms uncached, ${sim.itlMs} ms/token, ${sim.maxConcurrency} at once, ` +
  `prefix cache ${sim.prefixCacheBlocks} blocks of 64 chars); ${values.conversations} conversations × ${values.turns} turns over ` +
  `${values['system-prompts']} system prompts of ${values['system-prompt-chars']} chars; ${values.concurrency} clients`);
const results: MethodResult[] = [];
for (const method of methods) {
  say(`  ${method} ...`);
  const r = await runMethod(method);
  if (r.errors > 0) say(`    ${r.errors} errors; first: ${r.firstError}`);
  results.push(r);
}

say(`decision time: ${values.decisions} decisions per method with 10, 100 and 1,000 workers ...`);
const timings = timeDecisions([10, 100, 1000], num('decisions'));

const workloadTable = formatTable(
  ['method', 'requests', 'errors', 'TTFT mean ms', 'TTFT p99 ms', 'req/s', 'tokens/s', 'cache hits', 'requests per worker'],
  results.map((r) => [r.method, fmt(r.requests), fmt(r.errors), fmt(r.ttftMeanMs, 1), fmt(r.ttftP99Ms, 1), fmt(r.requestsPerSecond, 1),
    fmt(r.tokensPerSecond), `${fmt(r.cacheHitRate * 100, 1)}%`, r.requestsPerWorker.join('/')]),
);
const timingTable = formatTable(
  ['method', ...[10, 100, 1000].flatMap((n) => [`${n} p50 µs`, `${n} p99 µs`])],
  routingMethods.map((m) => [m, ...[10, 100, 1000].flatMap((n) => {
    const t = timings.find((x) => x.workers === n && x.method === m);
    return [fmt(t?.p50Us ?? NaN, 1), fmt(t?.p99Us ?? NaN, 1)];
  })]),
);
process.stdout.write(`\nShared-prefix chat workload near saturation\n${workloadTable}\n\nRouter decision time (decide(): eligibility, method, record)\n${timingTable}\n`);
const file = writeResults('routing', { machine: machineInfo(), options: values, sim, results, timings });
say(`\nresults written to ${file}`);
