/**
 * Gateway overhead: the same requests at the same concurrency, straight to one engine simulator
 * (zero TTFT and inter-token delay, its own process) and through llmux (`llmux up` with one worker:
 * gateway → NATS → router → worker → that simulator), alternating rounds in one run so drift hits
 * both alike. Prints a table and writes JSON to bench/results/.
 *
 * The streaming case runs twice through llmux: as is, and resumable (the stream journal on). The
 * traced cases compare two more `llmux up` stacks side by side, both fresh (a stack that served the
 * earlier cases carries their ledger and journal streams): one with tracing off (no OTEL_* set) and
 * one sampling 100 % of requests, exporting OTLP http/protobuf to a sink in this process. The threads
 * cases compare a stack with every role on the main thread (`--threads 1`) with one whose worker runs
 * on a worker thread (`--threads 2`); the other stacks run with `llmux up`'s default (the cores available).
 *
 *   npm run bench:overhead [-- --requests 2000 --concurrency 32 --rounds 2 --max-tokens 16 --only traced --cpu-prof-dir DIR --traced-env NAME=value]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { cpuMs, childrenNamed } from './lib/latency-cpu.js';
import { type LoadOptions, type LoadResult, runLoad } from './lib/load.js';
import { launch, launchWith } from './lib/launch.js';
import { formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';

const { values } = benchArgs('bench:overhead', 'Gateway overhead: the same requests at the same concurrency, straight to one '
  + 'engine simulator (zero delays, its own process) and through llmux (`llmux up` with one worker), alternating rounds in one '
  + 'run so drift hits both alike; also the resumable stream, tracing off against 100 % sampled, and --threads 1 against 2. '
  + 'Prints a table and writes JSON to bench/results/.', {
  requests: { type: 'string', default: '2000', help: 'requests per path and round' },
  concurrency: { type: 'string', default: '32', help: 'requests in flight at once' },
  rounds: { type: 'string', default: '2', help: 'rounds per case, the paths alternating' },
  'max-tokens': { type: 'string', default: '16', help: 'max_tokens of every request' },
  only: { type: 'string', default: '', help: "only the cases whose name contains this (e.g. traced; '': every case)" },
  'cpu-prof-dir': { type: 'string', help: 'a CPU profile of every `llmux up` (main thread and worker threads) into this directory (unset: none)' },
  'traced-env': { type: 'string', multiple: true, default: [], help: 'more environment for the traced stack only, NAME=value, repeatable (e.g. OTEL_TRACES_SAMPLER=always_off, OTEL_BSP_MAX_EXPORT_BATCH_SIZE=128)' },
});
const num = numberReader('bench:overhead', values);
const requests = num('requests', count);
const concurrency = num('concurrency', count);
const rounds = num('rounds', count);
const maxTokens = num('max-tokens', count);
const tracedEnv = Object.fromEntries(values['traced-env'].map((pair) => {
  const at = pair.indexOf('=');
  if (at <= 0) {
    process.stderr.write(`bench:overhead: --traced-env takes NAME=value, got '${pair}'\n`);
    process.exit(2);
  }
  return [pair.slice(0, at), pair.slice(at + 1)];
}));

/** A measured round, with the llmux stack's CPU per request when the path is an llmux stack. */
type Round = LoadResult & { cpuUsPerRequest?: number };

/** One `llmux up`: its URL, and the CPU ms it and its nats-server have used so far (undefined off Linux). */
interface Up {
  baseUrl: string;
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

interface Stack {
  baseUrl: string;
  /** A twin of the stack, tracing off, for the traced cases only. */
  untracedUrl: string;
  /** The same stack, tracing every request. */
  tracedUrl: string;
  /** The same stack with every role on the main thread (`--threads 1`), and with its worker on a worker thread (`--threads 2`). */
  singleThreadUrl: string;
  threadedUrl: string;
  /** Each llmux URL's CPU clock (the process and its nats-server). */
  cpu: Map<string, () => number | undefined>;
  simUrl: string;
  /** OTLP export requests the sink received, and their bytes. */
  exported: { requests: number; bytes: number };
  stop(): Promise<void>;
}

/** An OTLP/HTTP receiver that takes every export and keeps only its size, as a collector nearby would. */
async function otlpSink(exported: Stack['exported']): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (exported.bytes += c.length));
    req.on('end', () => {
      exported.requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function up(simUrl: string, env: Record<string, string> = {}, flags: string[] = []): Promise<Up> {
  const launched = await launchWith(values['cpu-prof-dir'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof-dir']}`] : [], ['up', '--port', '0', '--workers', '1', '--engine-url', simUrl, ...flags], 'Press Ctrl-C', env);
  const baseUrl = /base URL\s+(http:\/\/\S+)\/v1/.exec(launched.out)?.[1];
  if (!baseUrl) throw new Error(`could not read the gateway URL from llmux up:\n${launched.out}`);
  const nats = childrenNamed(launched.pid, 'nats-server')[0];
  const cpu = (): number | undefined => {
    const own = cpuMs(launched.pid);
    const server = nats === undefined ? 0 : cpuMs(nats);
    return own === undefined || server === undefined ? undefined : own + server;
  };
  return { baseUrl, cpuMs: cpu, stop: () => launched.stop() };
}


/**
 * The simulator runs in its own process, as an engine would on its own machine, so the llmux
 * process (gateway, router, worker, each with its own NATS connection) does only llmux's work.
 */
async function startStack(): Promise<Stack> {
  const sim = await launch(['sim', '--port', '0', '--ttft-ms', '0', '--itl-ms', '0', '--max-concurrency', '256', '--model', 'llmux-sim-8b'], 'listening on');
  const simUrl = /listening on (http:\/\/\S+)/.exec(sim.out)?.[1];
  if (!simUrl) throw new Error(`could not read the simulator URL:\n${sim.out}`);
  const plain = await up(simUrl);
  const twin = await up(simUrl);
  const exported = { requests: 0, bytes: 0 };
  const sink = await otlpSink(exported);
  const traced = await up(simUrl, { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_TRACES_SAMPLER: 'always_on',
    // A queue deep enough that no span is dropped at these rates: the cost measured is of exporting them all.
    // Batches are the SDK's default (512 spans); `--traced-env OTEL_BSP_MAX_EXPORT_BATCH_SIZE=N` sets another
    // (the runs before 2026-12-02 used 2,048, which came out a few points lower, docs/benchmarks.md).
    OTEL_BSP_MAX_QUEUE_SIZE: '200000', ...tracedEnv });
  const single = await up(simUrl, {}, ['--threads', '1']);
  const threaded = await up(simUrl, {}, ['--threads', '2']);
  return {
    cpu: new Map([plain, twin, traced, single, threaded].map((u) => [u.baseUrl, u.cpuMs])),
    singleThreadUrl: single.baseUrl,
    threadedUrl: threaded.baseUrl,
    baseUrl: plain.baseUrl,
    untracedUrl: twin.baseUrl,
    tracedUrl: traced.baseUrl,
    simUrl,
    exported,
    stop: async () => {
      await plain.stop();
      await twin.stop();
      await traced.stop();
      await single.stop();
      await threaded.stop();
      sink.server.close();
      await sim.stop();
    },
  };
}

/** A case compares `baseline` with `measured`: the simulator with llmux, or llmux untraced with llmux traced. */
type Case = { name: string; stream: boolean; headers?: Record<string, string>; traced?: boolean; threaded?: boolean };
const cases: Case[] = [
  { name: 'chat, non-streaming', stream: false },
  { name: 'chat, streaming', stream: true },
  // What the stream journal costs: every event also appended to JetStream (opt-in per request).
  { name: 'chat, streaming, resumable', stream: true, headers: { 'x-llmux-resumable': '1' } },
  // What tracing costs at 100 % sampling: the same llmux with and without it, side by side.
  { name: 'chat, non-streaming, traced 100 %', stream: false, traced: true },
  { name: 'chat, streaming, traced 100 %', stream: true, traced: true },
  // What a worker thread buys: the same llmux with its worker on the main thread (--threads 1) and on a thread of its own (--threads 2).
  { name: 'chat, non-streaming, threads 2', stream: false, threaded: true },
  { name: 'chat, streaming, threads 2', stream: true, threaded: true },
];
const chosen = cases.filter((c) => c.name.includes(values.only));
const labels = (c: Case): [string, string] => (c.traced ? ['llmux', 'llmux traced'] : c.threaded ? ['llmux threads 1', 'llmux threads 2'] : ['direct', 'llmux']);

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function body(model: string, stream: boolean): string {
  return JSON.stringify({ model, stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Say something about the sea.' }] });
}

async function main(): Promise<void> {
  say(`bench:overhead — ${requests} requests × ${rounds} rounds per path, concurrency ${concurrency}, ${maxTokens} tokens each`);
  const stack = await startStack();
  say(`llmux at ${stack.baseUrl}, simulator at ${stack.simUrl}`);
  /** CPU µs per request of an llmux stack (process and nats-server) over one measured round; undefined for the simulator. */
  const timed = async (target: Omit<LoadOptions, 'concurrency' | 'requests'>): Promise<Round> => {
    const clock = stack.cpu.get(target.url);
    const before = clock?.();
    const result = await runLoad({ ...target, concurrency, requests });
    const after = clock?.();
    return before === undefined || after === undefined ? result : { ...result, cpuUsPerRequest: ((after - before) * 1000) / requests };
  };
  const results: Array<{ case: string; path: 'baseline' | 'measured'; rounds: Round[] }> = [];
  try {
    for (const c of chosen) {
      const [baseName, measuredName] = labels(c);
      const llmux = { url: stack.baseUrl, path: '/v1/chat/completions', body: body('demo/llmux-sim-8b', c.stream), ...(c.headers ? { headers: c.headers } : {}) };
      const direct = c.traced ? { ...llmux, url: stack.untracedUrl } : c.threaded ? { ...llmux, url: stack.singleThreadUrl }
        : { url: stack.simUrl, path: '/v1/chat/completions', body: body('llmux-sim-8b', c.stream) };
      const viaLlmux = c.traced ? { ...llmux, url: stack.tracedUrl } : c.threaded ? { ...llmux, url: stack.threadedUrl } : llmux;
      say(`[${c.name}] warm-up`);
      await runLoad({ ...direct, concurrency, requests: Math.min(500, requests) });
      await runLoad({ ...viaLlmux, concurrency, requests: Math.min(500, requests) });
      const d: Round[] = [];
      const l: Round[] = [];
      for (let r = 1; r <= rounds; r++) {
        d.push(await timed(direct));
        say(`[${c.name}] round ${r}/${rounds} ${baseName}: ${d.at(-1)!.throughput.toFixed(0)} req/s`);
        l.push(await timed(viaLlmux));
        say(`[${c.name}] round ${r}/${rounds} ${measuredName}: ${l.at(-1)!.throughput.toFixed(0)} req/s`);
      }
      results.push({ case: c.name, path: 'baseline', rounds: d }, { case: c.name, path: 'measured', rounds: l });
    }
  } finally {
    await stack.stop();
  }

  const summary = (rs: Round[]) => ({
    throughput: rs.reduce((a, r) => a + r.throughput, 0) / rs.length,
    cpuUsPerRequest: rs.every((r) => r.cpuUsPerRequest !== undefined) ? rs.reduce((a, r) => a + (r.cpuUsPerRequest as number), 0) / rs.length : undefined,
    p50Ms: rs.reduce((a, r) => a + r.p50Ms, 0) / rs.length,
    p99Ms: rs.reduce((a, r) => a + r.p99Ms, 0) / rs.length,
    errors: rs.reduce((a, r) => a + r.errors, 0),
  });
  const rows: string[][] = [];
  const pairedNotes: string[] = [];
  const json: Record<string, unknown>[] = [];
  for (const c of chosen) {
    const [baseName, measuredName] = labels(c);
    const dr = results.find((r) => r.case === c.name && r.path === 'baseline')!.rounds;
    const lr = results.find((r) => r.case === c.name && r.path === 'measured')!.rounds;
    const d = summary(dr);
    const l = summary(lr);
    const cpu = (x: number | undefined): string => (x === undefined ? '' : x.toFixed(0));
    const cpuRatio = d.cpuUsPerRequest !== undefined && l.cpuUsPerRequest !== undefined ? l.cpuUsPerRequest / d.cpuUsPerRequest : undefined;
    rows.push([c.name, baseName, d.throughput.toFixed(0), d.p50Ms.toFixed(2), d.p99Ms.toFixed(2), cpu(d.cpuUsPerRequest), String(d.errors)]);
    rows.push([c.name, measuredName, l.throughput.toFixed(0), l.p50Ms.toFixed(2), l.p99Ms.toFixed(2), cpu(l.cpuUsPerRequest), String(l.errors)]);
    rows.push([c.name, `${measuredName}/${baseName}`, (l.throughput / d.throughput).toFixed(2), (l.p50Ms / d.p50Ms).toFixed(2), (l.p99Ms / d.p99Ms).toFixed(2),
      cpuRatio === undefined ? '' : cpuRatio.toFixed(2), '']);
    // Each round runs both paths back to back: the median of the rounds' own ratios moves less with the machine than the ratio of means.
    const perRound = lr.map((r, i) => r.throughput / (dr[i] as LoadResult).throughput);
    pairedNotes.push(`[${c.name}] ${measuredName}/${baseName} throughput by round: ${perRound.map((x) => x.toFixed(2)).join(' ')}; median ${median(perRound).toFixed(2)}`);
    json.push({ case: c.name, [baseName]: d, [measuredName]: l, ratio: { throughput: l.throughput / d.throughput, throughputMedianOfRounds: median(perRound), throughputByRound: perRound,
      p50: l.p50Ms / d.p50Ms, p99: l.p99Ms / d.p99Ms, cpuPerRequest: cpuRatio } });
  }
  // llmux CPU µs/req: the llmux process and its nats-server, per request, over the measured rounds (not the simulator's, nor this process's).
  process.stdout.write(`\n${formatTable(['case', 'path', 'req/s', 'p50 ms', 'p99 ms', 'llmux CPU µs/req', 'errors'], rows)}\n\n`);
  for (const note of pairedNotes) say(note);
  say(`the traced stack exported ${stack.exported.requests} OTLP requests, ${(stack.exported.bytes / 1e6).toFixed(1)} MB`);
  const file = writeResults('overhead', { ...machineInfo(), requests, rounds, concurrency, maxTokens, results: json, otlpExport: stack.exported });
  say(`wrote ${file}`);
}

main().catch((error: unknown) => {
  say(`bench:overhead failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
