/**
 * The routing lab: every routing method over real HTTP against simulated engines, on one workload
 * shape or all of them (bench/lib/routing-workloads.ts). Each method gets a fresh stack (cold
 * caches) and the same requests. Per method: TTFT mean and p99, inter-token latency, throughput,
 * the engines' prefix cache hit rate (their own counters) and SLO attainment (the share of requests
 * with TTFT under --slo-ttft-ms). Then, unless --decisions 0, the router's decision time with 10,
 * 100 and 1,000 workers. Prints tables and writes JSON to bench/results/.
 *
 *   npm run bench:routing -- --workload <shape|all> [--methods a,b] [--engines 4] [--scale 1]
 *     [--sim timing=engine,maxConcurrency=8,engine.kvBlocks=600,engine.prefillTokensPerSecond=5000] [--slow-factor 3]
 *     [--slo-ttft-ms 500] [--trace bench/traces/synthetic-mooncake.jsonl --trace-scale 8 --speedup 1]
 *     [--concurrency N] [--prefix-words 600] [--runs 1] [--routing-option loadWeight=2 ...] [--kv-events on]
 *
 * A method in --methods may carry its own routing options, so tunings run side by side on the same
 * requests: --methods least-busy,cost-model,cost-model:pendingPrefillWeight=1:temperature=0.1
 *
 * Saturation on the shared-prefix shape, with the calibrated prefill (docs/routing.md, "At saturation"):
 *   --workload shared-system-prompts --concurrency 48 --scale 2 --prefix-words 2400 --sim engine.prefillTokensPerSecond=20000
 *
 * --sim takes any numeric SimOptions field, `engine.<field>` for the engine model (src/sim/engine.ts)
 * and `timing=fixed|engine`, so simulator options added later need no change here. The default is the
 * stepped engine (prefill time grows with the prompt tokens that miss the cache) with a KV cache too
 * small for one engine to hold every shared prompt, and prefill 4× slower than the 8B-on-H100
 * calibration, so that where a prompt's prefix is cached shows in its time to first token.
 */
import { z } from 'zod';
import { routingMethods, routingOptionsSchema, type RoutingMethod } from '../src/control/function.schema.js';
import { demoVersionId } from '../src/control/demo-function.js';
import { runWorker } from '../src/launch/roles.js';
import { startLocalStack } from '../src/launch/local-stack.js';
import { silentLogger } from '../src/observability/logger.js';
import { type SimOptions, type SimServer, startSim } from '../src/sim/sim-server.js';
import { badArgument, benchArgs, numberReader } from './lib/cli-args.js';
import { timeDecisions } from './lib/decision-time.js';
import { fmt, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';
import { buildWorkload, type Workload, type WorkloadShape, workloadShapes } from './lib/routing-workloads.js';
import { alternatingOrder } from './lib/load.js';
import { indexCounts, sampleQueues } from './lib/routing-probes.js';
import { runScripts } from './lib/script-runner.js';
import { mean, percentile } from './lib/stats.js';

const { values } = benchArgs('bench:routing', 'The routing lab: every routing method over real HTTP against simulated engines, on one '
  + 'workload shape or all of them, each method on a fresh stack with the same requests. Per method: TTFT mean and p99, inter-token '
  + 'latency, throughput, the engines\' prefix hit rate, SLO attainment. Prints tables and writes JSON to bench/results/.', {
  workload: { type: 'string', default: 'shared-system-prompts', help: `the shape: ${workloadShapes.join(', ')}, or all` },
  methods: { type: 'string', default: 'round-robin,least-busy,session-affinity,prefix-aware,kv-aware,cost-model',
    help: 'methods, comma-separated; one may carry its own routing options: cost-model:pendingPrefillWeight=1:overlapWeight=2' },
  engines: { type: 'string', default: '4', help: 'simulated engines, each with its own worker' },
  scale: { type: 'string', default: '1', help: 'multiplies the requests of every shape' },
  sim: { type: 'string', default: '', help: 'simulator options, key=number pairs: engine.<field>=n (src/sim/engine.ts), timing=fixed|engine, any numeric SimOptions field' },
  'slow-factor': { type: 'string', default: '3', help: 'heterogeneous: how many times slower the slow engines are' },
  'slo-ttft-ms': { type: 'string', default: '500', help: 'the TTFT target of SLO attainment, ms' },
  trace: { type: 'string', default: 'bench/traces/synthetic-mooncake.jsonl', help: 'trace-replay: a JSONL trace in the Mooncake format' },
  'trace-scale': { type: 'string', default: '8', help: 'trace-replay: trace tokens per word' },
  speedup: { type: 'string', default: '1', help: 'the open-loop shapes\' arrivals this many times faster' },
  seed: { type: 'string', default: '1', help: 'the workloads\' random seed' },
  decisions: { type: 'string', default: '2000', help: 'decisions timed per method afterwards with 10, 100 and 1,000 workers (0: none)' },
  'routing-option': { type: 'string', multiple: true, default: [], help: 'key=number of llmConfig.routing for every method (repeatable)' },
  'kv-events': { type: 'string', default: 'on', help: 'on: engines publish vLLM\'s KV events and workers relay them (engine timing only); off: not' },
  concurrency: { type: 'string', help: 'clients of the closed-loop shapes (unset: each shape\'s own, 12); more to reach saturation' },
  runs: { type: 'string', default: '1', help: 'repetitions of everything, methods in alternating order; the summary is the geometric mean over runs' },
  'prefix-words': { type: 'string', default: '600', help: 'words in each system prompt of shared-system-prompts and heterogeneous' },
});
const num = numberReader('bench:routing', values);
/**
 * A method as the lab runs it: a routing method, optionally with its own llmConfig.routing options
 * over --routing-option's, written `cost-model:pendingPrefillWeight=1:temperature=0.1`, so that
 * tunings of one method run side by side, on the same requests, in the same run.
 */
interface MethodVariant {
  label: string;
  method: RoutingMethod;
  options: Record<string, number>;
}
/** The numeric fields of llmConfig.routing, the ones a variant or --routing-option may set. */
const numericOptions = Object.entries(routingOptionsSchema.shape).filter(([, field]) => field.unwrap() instanceof z.ZodNumber).map(([key]) => key);
function optionPair(pair: string, what: string): [string, number] {
  const [key, value, extra] = pair.split('=');
  if (!key || value === undefined || extra !== undefined || value.trim() === '' || !Number.isFinite(Number(value))) badArgument('bench:routing', `${what} takes key=number, got '${pair}'`);
  if (!numericOptions.includes(key)) badArgument('bench:routing', `${what}: '${key}' is not a numeric routing option; known: ${numericOptions.join(', ')}`);
  return [key, Number(value)];
}
function variantOf(spec: string): MethodVariant {
  const [method, ...pairs] = spec.trim().split(':');
  if (!(routingMethods as readonly string[]).includes(method as string)) badArgument('bench:routing', `unknown routing method '${method}' in --methods '${spec}'; known: ${routingMethods.join(', ')}`);
  return { label: spec.trim(), method: method as RoutingMethod, options: Object.fromEntries(pairs.map((p) => optionPair(p, `--methods ${method}`))) };
}
const variants = String(values.methods).split(',').filter((m) => m.trim() !== '').map(variantOf);
const methods = variants.map((v) => v.label);
if (new Set(methods).size !== methods.length) badArgument('bench:routing', `--methods names a method twice: ${methods.join(', ')}`);
const shapes: WorkloadShape[] = values.workload === 'all' ? [...workloadShapes] : [values.workload as WorkloadShape];
for (const s of shapes) if (!(workloadShapes as readonly string[]).includes(s)) badArgument('bench:routing', `unknown workload '${s}'; known: ${workloadShapes.join(', ')}, all`);
const engines = num('engines');
const slowFactor = num('slow-factor');
const sloMs = num('slo-ttft-ms');

type SimTuning = Omit<SimOptions, 'models' | 'format' | 'apiKey' | 'port' | 'host'>;
const sim: SimTuning = { timing: 'engine', maxConcurrency: 8, engine: { kvBlocks: 600, prefillTokensPerSecond: 5_000 } };
for (const pair of String(values.sim).split(',').filter(Boolean)) {
  const [key, value] = pair.split('=');
  if (key === 'timing' && (value === 'fixed' || value === 'engine')) {
    sim.timing = value;
    continue;
  }
  if (!key || value === undefined || !Number.isFinite(Number(value))) badArgument('bench:routing', `--sim takes key=number pairs (engine.<field>=number, timing=fixed|engine), got '${pair}'`);
  if (key.startsWith('engine.')) sim.engine = { ...sim.engine, [key.slice('engine.'.length)]: Number(value) };
  else (sim as Record<string, number>)[key] = Number(value);
}
/** `key=value` tuning of the methods (llmConfig.routing), e.g. --routing-option overlapWeight=2. */
const routingOptions: Record<string, number> = Object.fromEntries((values['routing-option'] as string[]).map((pair) => optionPair(pair, '--routing-option')));
// A slow engine: every step slowFactor× longer (engine timing), or TTFT and ITL slowFactor× (fixed timing).
const slowSim: SimTuning = sim.timing === 'engine'
  ? { ...sim, engine: { ...sim.engine, speedup: (sim.engine?.speedup ?? 1) / slowFactor } }
  : { ...sim, ttftMs: (sim.ttftMs ?? 0) * slowFactor, itlMs: (sim.itlMs ?? 0) * slowFactor };

interface MethodResult {
  run: number;
  shape: WorkloadShape;
  /** The variant's label (the method, with its own options if any). */
  method: string;
  routingMethod: RoutingMethod;
  /** llmConfig.routing as the run had it. */
  routing: Record<string, number>;
  requests: number;
  errors: number;
  firstError?: string;
  ttftMeanMs: number;
  ttftP99Ms: number;
  itlMeanMs: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
  prefixHitRate: number;
  sloAttainment: number;
  requestsPerEngine: number[];
  /** Per engine: mean sequences waiting, and the share of the run with any waiting (saturation). */
  meanWaiting: number[];
  busyShare: number[];
  preemptions: number;
  /** The prefix index each request's first decision used. */
  index: Record<string, number>;
}

if (values['kv-events'] !== 'on' && values['kv-events'] !== 'off') badArgument('bench:routing', `--kv-events takes on or off, got ${String(values['kv-events'])}`);
const kvEvents = values['kv-events'] === 'on' && sim.timing === 'engine';

async function runMethod(workload: Workload, variant: MethodVariant, round: number): Promise<MethodResult> {
  const routing = { kvBlockSize: sim.engine?.blockSize ?? 16, ...routingOptions, ...variant.options };
  const capacity = (sim.maxConcurrency ?? 4) * 4;
  // The simulator's own tokenization (llmux-sim), so the gateway counts and names blocks as the engines do.
  // The stack starts no worker: each engine and its worker are started here, each engine with its own
  // KV event port and speed.
  const stack = await startLocalStack({ log: silentLogger(), workers: 0,
    llmConfig: { routingMethod: variant.method, tokenizer: 'llmux-sim', routing } });
  const extra: Array<{ stop(): Promise<void> }> = [];
  const sims: SimServer[] = [];
  try {
    const [functionId, model] = (stack.models[0] as string).split('/') as [string, string];
    for (let i = 0; i < engines; i++) {
      const slow = i >= engines - workload.slowEngines;
      const s = await startSim({ models: [model], format: 'vllm', ...(slow ? slowSim : sim), ...(kvEvents ? { kvEventsPort: 0 } : {}) });
      extra.push(s);
      sims.push(s);
      const workerId = `${slow ? 'slow' : 'fast'}-worker-${i}`;
      const { nkeySeed } = await stack.addWorkerIdentity(workerId);
      extra.unshift(await runWorker({ natsUrl: stack.natsUrl, nkeySeed, workerId, log: silentLogger(), engineKind: 'vllm', engineUrl: s.url,
        functionId, versionId: demoVersionId, model, capacity, ...(s.kvEvents ? { engineSettings: { 'kv-events': s.kvEvents.endpoint } } : {}) }));
    }
    await waitForWorkers(stack.router, engines);
    const queues = sampleQueues(sims);
    const run = await runScripts(stack.gatewayUrl, stack.models[0] as string, workload).finally(() => queues.stop());
    const queue = queues.stop();
    const stats = sims.map((s) => s.stats());
    const queries = stats.reduce((n, s) => n + s.prefixCache.queries, 0);
    const hits = stats.reduce((n, s) => n + s.prefixCache.hits, 0);
    const ttft = run.samples.map((s) => s.ttftMs).sort((a, b) => a - b);
    const itl = run.samples.flatMap((s) => (s.itlMs === undefined ? [] : [s.itlMs]));
    const tokens = run.samples.reduce((n, s) => n + s.tokens, 0);
    return {
      run: round, shape: workload.shape, method: variant.label, routingMethod: variant.method, routing, requests: run.samples.length + run.errors, errors: run.errors, ...(run.firstError ? { firstError: run.firstError } : {}),
      ttftMeanMs: mean(ttft), ttftP99Ms: percentile(ttft, 99), itlMeanMs: mean(itl),
      requestsPerSecond: run.samples.length / run.seconds, tokensPerSecond: tokens / run.seconds,
      prefixHitRate: queries > 0 ? hits / queries : 0, sloAttainment: ttft.length ? ttft.filter((t) => t <= sloMs).length / (ttft.length + run.errors) : 0,
      requestsPerEngine: stats.map((s) => s.requestsTotal),
      meanWaiting: queue.meanWaiting, busyShare: queue.busyShare, preemptions: stats.reduce((n, s) => n + s.preemptions, 0),
      index: indexCounts(run.samples.flatMap((s) => (s.requestId ? [s.requestId] : [])), stack.router.decisions),
    };
  } finally {
    for (const e of extra) await e.stop().catch(() => undefined);
    await stack.stop();
  }
}

async function waitForWorkers(router: { table: { size: number } }, n: number): Promise<void> {
  for (let i = 0; i < 200 && router.table.size < n; i++) await new Promise((r) => setTimeout(r, 25));
  if (router.table.size < n) throw new Error(`only ${router.table.size} of ${n} workers joined the router within 5 s`);
}

const shapeOptions = { scale: num('scale'), engines, trace: String(values.trace), traceScale: num('trace-scale'), speedup: Math.max(0.01, num('speedup')), seed: num('seed'), prefixWords: num('prefix-words') };
say(`bench:routing — ${engines} simulated engines (${JSON.stringify(sim)}); SLO: TTFT ≤ ${sloMs} ms; methods: ${methods.join(', ')}`);
const results: MethodResult[] = [];
const tables: string[] = [];
const runs = Math.max(1, Math.floor(num('runs')));
for (let run = 0; run < runs; run++) for (const shape of shapes) {
  const built = buildWorkload(shape, shapeOptions);
  const workload = values.concurrency !== undefined && built.concurrency !== undefined
    ? { ...built, concurrency: num('concurrency'), description: built.description.replace(/\d+ clients/, `${num('concurrency')} clients`) } : built;
  say(`\n${shape}${runs > 1 ? ` (run ${run + 1} of ${runs})` : ''}: ${workload.description}`);
  const mine: MethodResult[] = [];
  for (const variant of alternatingOrder(variants, run)) {
    say(`  ${variant.label} ...`);
    const r = await runMethod(workload, variant, run);
    if (r.errors > 0) say(`    ${r.errors} errors; first: ${r.firstError}`);
    mine.push(r);
  }
  results.push(...mine);
  const best = Math.min(...mine.map((r) => r.ttftMeanMs));
  tables.push(`${shape}: ${workload.description}\n${formatTable(
    ['method', 'requests', 'errors', 'TTFT mean ms', '× best', 'TTFT p99 ms', 'ITL ms', 'req/s', 'tokens/s', 'prefix hits', `TTFT ≤ ${sloMs} ms`, 'requests per engine', 'waiting per engine', 'queued share', 'preempt', 'index'],
    [...mine].sort((a, b) => methods.indexOf(a.method) - methods.indexOf(b.method)).map((r) => [r.method, fmt(r.requests), fmt(r.errors), fmt(r.ttftMeanMs, 1), fmt(r.ttftMeanMs / best, 2), fmt(r.ttftP99Ms, 1), fmt(r.itlMeanMs, 1),
      fmt(r.requestsPerSecond, 1), fmt(r.tokensPerSecond), `${fmt(r.prefixHitRate * 100, 1)}%`, `${fmt(r.sloAttainment * 100, 1)}%`, r.requestsPerEngine.join('/'),
      r.meanWaiting.map((w) => fmt(w, 1)).join('/'), r.busyShare.map((b) => `${fmt(b * 100, 0)}%`).join('/'), fmt(r.preemptions),
      Object.entries(r.index).map(([k, n]) => `${k} ${n}`).join(', ')]),
  )}`);
  process.stdout.write(`\n${tables.at(-1) as string}\n`);
}

if (shapes.length > 1 || runs > 1) {
  // Each method's mean TTFT against the best method's in the same run, shape by shape, as a geometric
  // mean over the runs: the default should be within 1.10 everywhere.
  const ratio = (m: string, s: WorkloadShape, run: number): number => {
    const mine = results.filter((r) => r.shape === s && r.run === run);
    return (mine.find((r) => r.method === m)?.ttftMeanMs ?? NaN) / Math.min(...mine.map((r) => r.ttftMeanMs));
  };
  const rows = methods.map((m) => {
    const ratios = shapes.map((s) => Math.exp(Array.from({ length: runs }, (_, run) => Math.log(ratio(m, s, run))).reduce((a, b) => a + b, 0) / runs));
    return [m, ...ratios.map((x) => fmt(x, 2)), fmt(Math.max(...ratios), 2)];
  });
  process.stdout.write(`\nMean TTFT ÷ the best method's, per shape${runs > 1 ? ` (geometric mean over ${runs} runs)` : ''}\n${formatTable(['method', ...shapes, 'worst'], rows)}\n`);
}

const timings = num('decisions') > 0 ? timeDecisions([10, 100, 1000], num('decisions')) : [];
if (timings.length) {
  const labels = [...new Set(timings.map((t) => t.method))];
  process.stdout.write(`\nRouter decision time (decide(): eligibility, method, record)\n${formatTable(
    ['method', ...[10, 100, 1000].flatMap((n) => [`${n} p50 µs`, `${n} p99 µs`])],
    labels.map((m) => [m, ...[10, 100, 1000].flatMap((n) => {
      const t = timings.find((x) => x.workers === n && x.method === m);
      return [fmt(t?.p50Us ?? NaN, 1), fmt(t?.p99Us ?? NaN, 1)];
    })]),
  )}\n`);
}
const file = writeResults('routing', { machine: machineInfo(), options: values, sim, slowSim, results, timings });
say(`\nresults written to ${file}`);
