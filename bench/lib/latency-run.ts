/**
 * One latency run: an engine simulator (zero delays, its own process) and `llmux up` with one
 * worker in front of it (every role in one process, its own NATS connections, a real nats-server)
 * with hop timing on; a fixed rate to both, interleaved; then the hop stamps the gateway wrote are
 * joined with the client's send and receive times.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HopRecord } from '../../src/observability/hop-timing.js';
import { launch } from './launch.js';
import { launchWith } from './launch.js';
import { childrenNamed, cpuSnapshot, syscalls } from './latency-cpu.js';
import { added, addedFromHops, aggregateGroups, aggregateHops, type Breakdown, engineHop, hopKey, type Pct, pct } from './latency-hops.js';
import { type FixedRateResult, runFixedRate, type Sample } from './latency-load.js';

export interface LatencyOptions {
  /** Requests per second to each of direct and llmux. */
  rate: number;
  seconds: number;
  warmupSeconds: number;
  streaming: boolean;
  /** max_tokens of every request. */
  tokens: number;
  /** When set, `llmux up` runs with `--cpu-prof` and writes its profile here. */
  cpuProfDir?: string;
  /** `llmux up --threads N` (default 1: every role on the main thread). */
  threads?: number;
  log?: (line: string) => void;
}

export interface LatencyReport {
  options: LatencyOptions;
  /** os.loadavg() (1, 5, 15 min) before and after the measured run. */
  loadBefore: number[];
  loadAfter: number[];
  maxLagMs: number;
  seconds: number;
  errors: { direct: number; llmux: number; first?: string };
  direct: Pct & { count: number };
  llmux: Pct & { count: number };
  added: Pct;
  breakdown: Breakdown;
  groups: Array<{ group: string; ms: Pct }>;
  /** The engine call's span less a direct request, at each percentile: the worker's HTTP client overhead and the second HTTP exchange. */
  engineOverhead: Pct;
  /** The added latency rebuilt from the hops (addedFromHops): to set beside `added`. */
  addedFromHops: Pct;
  /** CPU ms per llmux request during the measured run (both paths' requests reach the simulator). */
  cpuPerRequestMs: { llmux?: number; natsServer?: number; simulator?: number };
  /** Write and read system calls of the llmux process per llmux request during the measured run (socket writes and reads, mostly). */
  syscallsPerRequest?: { writes: number; reads: number };
}

function body(model: string, o: LatencyOptions): string {
  return JSON.stringify({ model, stream: o.streaming, max_tokens: o.tokens, messages: [{ role: 'user', content: 'Say something about the sea.' }] });
}

export async function runLatencyBench(o: LatencyOptions): Promise<LatencyReport> {
  const say = o.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'llmux-latency-'));
  const hopFile = join(dir, 'hops.ndjson');
  const sim = await launch(['sim', '--port', '0', '--ttft-ms', '0', '--itl-ms', '0', '--max-concurrency', '256', '--model', 'llmux-sim-8b'], 'listening on');
  let llmux: Awaited<ReturnType<typeof launch>> | undefined;
  try {
    const simUrl = /listening on (http:\/\/\S+)/.exec(sim.out)?.[1];
    if (!simUrl) throw new Error(`could not read the simulator URL:\n${sim.out}`);
    const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
    llmux = await launchWith(nodeArgs, ['up', '--port', '0', '--workers', '1', '--engine-url', simUrl, ...(o.threads ? ['--threads', String(o.threads)] : [])], 'Press Ctrl-C', { LLMUX_HOP_TIMING: hopFile });
    const baseUrl = /base URL\s+(http:\/\/\S+)\/v1/.exec(llmux.out)?.[1];
    if (!baseUrl) throw new Error(`could not read the gateway URL from llmux up:\n${llmux.out}`);
    say(`llmux at ${baseUrl}, simulator at ${simUrl}`);
    const targets = [
      { name: 'direct', url: simUrl, path: '/v1/chat/completions', body: body('llmux-sim-8b', o) },
      { name: 'llmux', url: baseUrl, path: '/v1/chat/completions', body: body('demo/llmux-sim-8b', o) },
    ];
    if (o.warmupSeconds > 0) {
      say(`warm-up ${o.warmupSeconds} s`);
      await runFixedRate(targets, { rate: o.rate, seconds: o.warmupSeconds, idPrefix: 'warmup' });
    }
    const pids = { llmux: llmux.pid, natsServer: childrenNamed(llmux.pid, 'nats-server')[0], simulator: sim.pid };
    const cpuBefore = cpuSnapshot(pids);
    const ioBefore = syscalls(llmux.pid);
    const loadBefore = loadavg();
    say(`measuring ${o.seconds} s at ${o.rate} req/s to each (load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')})`);
    const run = await runFixedRate(targets, { rate: o.rate, seconds: o.seconds, idPrefix: 'run' });
    const loadAfter = loadavg();
    const cpuAfter = cpuSnapshot(pids);
    const ioAfter = syscalls(llmux.pid);
    const requests = run.samples.filter((s) => s.target === 'llmux').length;
    const perRequest = (k: keyof typeof pids): number | undefined => {
      const a = cpuBefore[k];
      const b = cpuAfter[k];
      return a === undefined || b === undefined || requests === 0 ? undefined : (b - a) / requests;
    };
    const cpu = { llmux: perRequest('llmux'), natsServer: perRequest('natsServer'), simulator: perRequest('simulator') };
    // Stopping the stack writes its last hop records (and its CPU profile).
    await llmux.stop();
    llmux = undefined;
    const r = report(o, run, readHops(hopFile), loadBefore, loadAfter);
    r.cpuPerRequestMs = Object.fromEntries(Object.entries(cpu).filter(([, v]) => v !== undefined));
    if (ioBefore && ioAfter && requests > 0) r.syscallsPerRequest = { writes: (ioAfter.writes - ioBefore.writes) / requests, reads: (ioAfter.reads - ioBefore.reads) / requests };
    return r;
  } finally {
    await llmux?.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function readHops(file: string): Map<string, Record<string, number>> {
  const byId = new Map<string, Record<string, number>>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return byId;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as HopRecord;
    byId.set(r.requestId, r.stamps);
  }
  return byId;
}

/** Joins the client's samples with the gateway's stamps; exported for the tests. */
export function report(o: LatencyOptions, run: FixedRateResult, stampsById: Map<string, Record<string, number>>, loadBefore: number[], loadAfter: number[]): LatencyReport {
  const ok = (s: Sample): boolean => s.error === undefined && s.status === 200;
  const of = (name: string): Sample[] => run.samples.filter((s) => s.target === name);
  const direct = of('direct');
  const viaLlmux = of('llmux');
  const firstBad = run.samples.find((s) => !ok(s));
  const records = viaLlmux.filter(ok).map((s) => ({ ...stampsById.get(s.requestId), 'c.send': s.sentAt, 'c.recv': s.receivedAt }));
  const d = pct(direct.filter(ok).map((s) => s.ms));
  const l = pct(viaLlmux.filter(ok).map((s) => s.ms));
  const breakdown = aggregateHops(records);
  const engine = breakdown.rows.find((r) => hopKey(r.hop) === engineHop)?.ms ?? pct([]);
  return {
    options: o, loadBefore, loadAfter, maxLagMs: run.maxLagMs, seconds: run.seconds,
    errors: { direct: direct.filter((s) => !ok(s)).length, llmux: viaLlmux.filter((s) => !ok(s)).length,
      ...(firstBad ? { first: `${firstBad.target}: ${firstBad.error ?? `status ${firstBad.status}`}` } : {}) },
    direct: { ...d, count: direct.filter(ok).length },
    llmux: { ...l, count: viaLlmux.filter(ok).length },
    added: added(l, d),
    breakdown,
    groups: aggregateGroups(records),
    engineOverhead: added(engine, d),
    addedFromHops: addedFromHops(breakdown, d),
    cpuPerRequestMs: {},
  };
}
