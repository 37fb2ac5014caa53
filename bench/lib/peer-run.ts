/**
 * One bench:peers run against one simulator (zero delays): straight to it, through llmux, and
 * through the peer gateway when it is given. Non-streaming saturation (closed loop, alternating
 * rounds), latency at a fixed rate (open loop; one phase per gateway, its sends interleaved with
 * direct ones), and streaming at saturation; then the issue's targets, computed from those figures.
 */
import { loadavg } from 'node:os';
import { alternatingOrder, type LoadResult, runLoad } from './load.js';
import { type FixedRateResult, runFixedRate, type Sample } from './latency-load.js';
import { startPeerStack, type PeerTarget } from './peer-stack.js';
import { procUsage, type ProcUsage, usageBetween } from './proc-usage.js';
import { runStreamLoad, type StreamLoadResult } from './peer-stream.js';
import { percentile } from './stats.js';

export interface PeerBenchOptions {
  /** Connections of the saturation and streaming loads. */
  concurrency: number;
  rounds: number;
  /** Seconds of each saturation and streaming run (one target, one round). */
  runSeconds: number;
  warmupSeconds: number;
  /** Requests per second to each target in the fixed-rate phase, and for how long. */
  rate: number;
  rateSeconds: number;
  /** max_tokens of the non-streaming requests. */
  maxTokens: number;
  /** Tokens of each streaming request. */
  streamTokens: number;
  /** The peer's server entry (from ensurePeer); without it the peer is left out. */
  peerEntry?: string;
  /** Another llmux checkout (bin/ and a built dist/), measured as `baseline` beside this one: before and after a change, in one run. */
  baselineRoot?: string;
  /** Only the streaming phase (the saturation and fixed-rate figures are then NaN: not measured). */
  streamingOnly?: boolean;
  log?: (line: string) => void;
}

type Name = PeerTarget['name'];
export interface Row {
  target: Name;
  saturation: { rps: number; p50Ms: number; p99Ms: number; errors: number; firstError?: string };
  /** For llmux and the peer, also the direct requests interleaved with theirs (the same phase). */
  fixedRate: { count: number; p50Ms: number; p99Ms: number; errors: number; firstError?: string; direct?: { p50Ms: number; p99Ms: number } };
  streaming: {
    rps: number; tokensPerSecond: number; gapP50Ms: number; gapP99Ms: number; p50Ms: number; p99Ms: number; errors: number; firstError?: string;
    /** For the llmux processes: CPU time and system calls of the process (all its threads) per 1,000 tokens relayed. */
    perKiloToken?: { cpuMs: number; writes: number; reads: number };
  } | { skipped: string };
}

export interface Target { name: string; value: number; unit: string; goal: string; met: boolean }

export interface PeerBenchReport {
  options: Omit<PeerBenchOptions, 'log'>;
  loadBefore: number[];
  loadAfter: number[];
  /** How late the fixed-rate sender sent, at worst (ms). */
  maxLagMs: number;
  /**
   * The fixed-rate phase did not hold its rate: the sender fell more than `overloadLagMs` behind,
   * or a target's p50 there exceeded its p50 at saturation. Its latencies are then queueing on an
   * overloaded machine, not the latency at that rate.
   */
  fixedRateOverloaded: boolean;
  rows: Row[];
  targets: Target[];
}

export const overloadLagMs = 20;
const peerStreamingIssue = 'its streaming path fails on Node (Portkey-AI/gateway issues #1389, #1550)';

function body(model: string, stream: boolean, maxTokens: number): string {
  return JSON.stringify({ model, stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Say something about the sea.' }] });
}

const validChat = (status: number, text: string): boolean => status === 200 && text.includes('"choices"');

function pooledSaturation(rs: LoadResult[]): Row['saturation'] {
  const all = rs.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const requests = rs.reduce((a, r) => a + r.requests, 0);
  const seconds = rs.reduce((a, r) => a + r.seconds, 0);
  const firstError = rs.find((r) => r.firstError)?.firstError;
  return { rps: requests / seconds, p50Ms: percentile(all, 50), p99Ms: percentile(all, 99), errors: rs.reduce((a, r) => a + r.errors, 0), ...(firstError ? { firstError } : {}) };
}

const notMeasured = { rps: NaN, p50Ms: NaN, p99Ms: NaN, errors: 0 };

function pooledStreaming(rs: StreamLoadResult[], used: ProcUsage | undefined): Row['streaming'] {
  const gaps = rs.flatMap((r) => r.gapsMs).sort((a, b) => a - b);
  const seconds = rs.reduce((a, r) => a + r.seconds, 0);
  const requests = rs.reduce((a, r) => a + r.requests, 0);
  const tokens = rs.reduce((a, r) => a + r.tokens, 0);
  const firstError = rs.find((r) => r.firstError)?.firstError;
  return {
    rps: requests / seconds, tokensPerSecond: tokens / seconds,
    gapP50Ms: percentile(gaps, 50), gapP99Ms: percentile(gaps, 99),
    // Request latencies are kept per run only: the mean of the runs' percentiles.
    p50Ms: rs.reduce((a, r) => a + r.p50Ms, 0) / rs.length, p99Ms: rs.reduce((a, r) => a + r.p99Ms, 0) / rs.length,
    errors: rs.reduce((a, r) => a + r.errors, 0), ...(firstError ? { firstError } : {}),
    ...(used && tokens > 0 ? { perKiloToken: { cpuMs: used.cpuMs / (tokens / 1000), writes: used.writes / (tokens / 1000), reads: used.reads / (tokens / 1000) } } : {}),
  };
}

function fixedRateOf(samples: readonly Sample[], name: Name): Row['fixedRate'] {
  const mine = samples.filter((s) => s.target === name);
  const good = mine.filter((s) => s.status === 200 && !s.error).map((s) => s.ms).sort((a, b) => a - b);
  const bad = mine.find((s) => s.status !== 200 || s.error);
  return { count: mine.length, p50Ms: percentile(good, 50), p99Ms: percentile(good, 99), errors: mine.length - good.length,
    ...(bad ? { firstError: bad.error ?? `status ${bad.status}` } : {}) };
}

/** The issue's targets, from the rows; a target whose inputs are missing is reported as not met. */
export function targetsOf(rows: readonly Row[]): Target[] {
  const row = (n: Name) => rows.find((r) => r.target === n);
  const direct = row('direct');
  const llmux = row('llmux');
  const peer = row('peer');
  const out: Target[] = [];
  const add = (name: string, value: number, unit: string, goal: string, ok: (v: number) => boolean): void => {
    out.push({ name, value, unit, goal, met: Number.isFinite(value) && ok(value) });
  };
  add('non-streaming saturation, llmux / peer', peer && llmux ? llmux.saturation.rps / peer.saturation.rps : NaN, 'x', '>= 1.5', (v) => v >= 1.5);
  if (direct && llmux) {
    const base = llmux.fixedRate.direct ?? direct.fixedRate;
    add('added latency over direct at the fixed rate, p50', llmux.fixedRate.p50Ms - base.p50Ms, 'ms', '<= 1', (v) => v <= 1);
    add('added latency over direct at the fixed rate, p99', llmux.fixedRate.p99Ms - base.p99Ms, 'ms', '<= 3', (v) => v <= 3);
    const ls = llmux.streaming;
    const ds = direct.streaming;
    add('streaming tokens/s through llmux', 'skipped' in ls ? NaN : ls.tokensPerSecond, 'tokens/s', '>= 100,000', (v) => v >= 100_000);
    add('inter-token overhead (llmux gap - direct gap), p99', 'skipped' in ls || 'skipped' in ds ? NaN : ls.gapP99Ms - ds.gapP99Ms, 'ms', '<= 1', (v) => v <= 1);
  }
  return out;
}

export async function runPeerBench(o: PeerBenchOptions): Promise<PeerBenchReport> {
  const say = o.log ?? (() => undefined);
  const stack = await startPeerStack(o.peerEntry, o.baselineRoot);
  const targets = stack.targets;
  say(`simulator at ${stack.simUrl}; ${targets.map((t) => `${t.name} at ${t.url}`).join(', ')}`);
  const loadBefore = loadavg();
  try {
    const plain = (t: PeerTarget) => ({ url: t.url, path: t.path, body: body(t.model, false, o.maxTokens), ...(t.headers ? { headers: t.headers } : {}) });
    const streamed = (t: PeerTarget) => ({ url: t.url, path: t.path, body: body(t.model, true, o.streamTokens), ...(t.headers ? { headers: t.headers } : {}) });

    say('warm-up');
    for (const t of targets) {
      const w = await runLoad({ ...plain(t), concurrency: o.concurrency, requests: 1e9, maxSeconds: o.warmupSeconds, validate: validChat });
      if (w.ok === 0) throw new Error(`${t.name} answered no request in the warm-up: ${w.firstError ?? 'no request sent'}`);
    }

    // Is the peer's streaming usable? One request tells.
    const skipped: Partial<Record<Name, string>> = {};
    const peer = targets.find((t) => t.name === 'peer');
    if (peer) {
      // Half a second of one client: a probe that sent nothing (a pause longer than its window) must not pass.
      const probe = await runStreamLoad({ ...streamed(peer), concurrency: 1, seconds: 0.5, tokens: o.streamTokens });
      if (probe.requests === 0 || probe.errors > 0) skipped.peer = `skipped: ${peerStreamingIssue}; here: ${probe.firstError ?? 'the probe sent no request'}`;
      say(skipped.peer ?? 'the peer streams: measuring it');
    }

    const sat = new Map<Name, LoadResult[]>(targets.map((t) => [t.name, []]));
    for (let r = 0; r < (o.streamingOnly ? 0 : o.rounds); r++) {
      for (const t of alternatingOrder(targets, r)) {
        const res = await runLoad({ ...plain(t), concurrency: o.concurrency, requests: 1e9, maxSeconds: o.runSeconds, validate: validChat });
        sat.get(t.name)!.push(res);
        say(`[saturation] round ${r + 1}/${o.rounds} ${t.name}: ${res.throughput.toFixed(0)} req/s, p50 ${res.p50Ms.toFixed(2)} ms, ${res.errors} errors`);
      }
    }

    // One phase per gateway, each interleaved with direct: all three at once offer 3× the rate to two
    // cores, and the slowest gateway's queue then sets everyone's latency.
    const fixed = new Map<Name, FixedRateResult>();
    let maxLagMs = 0;
    for (const t of o.streamingOnly ? [] : targets.filter((x) => x.name !== 'direct')) {
      const pair = [targets[0]!, t].map((x) => ({ name: x.name, ...plain(x) }));
      say(`[fixed rate] ${o.rate} req/s to each of direct and ${t.name}, interleaved, ${o.rateSeconds} s`);
      await runFixedRate(pair, { rate: o.rate, seconds: Math.min(1, o.rateSeconds), idPrefix: `peers-warm-${t.name}` });
      const res = await runFixedRate(pair, { rate: o.rate, seconds: o.rateSeconds, idPrefix: `peers-${t.name}` });
      fixed.set(t.name, res);
      maxLagMs = Math.max(maxLagMs, res.maxLagMs);
    }

    const streaming = targets.filter((t) => !skipped[t.name]);
    for (const t of streaming) await runStreamLoad({ ...streamed(t), concurrency: o.concurrency, seconds: o.warmupSeconds, tokens: o.streamTokens });
    const str = new Map<Name, StreamLoadResult[]>(streaming.map((t) => [t.name, []]));
    /** What each llmux process used during its own streaming rounds. */
    const used = new Map<Name, ProcUsage | undefined>(streaming.map((t) => [t.name, t.pid ? { cpuMs: 0, writes: 0, reads: 0 } : undefined]));
    for (let r = 0; r < o.rounds; r++) {
      for (const t of alternatingOrder(streaming, r)) {
        const before = t.pid ? procUsage(t.pid) : undefined;
        const res = await runStreamLoad({ ...streamed(t), concurrency: o.concurrency, seconds: o.runSeconds, tokens: o.streamTokens });
        const round = t.pid ? usageBetween(before, procUsage(t.pid)) : undefined;
        const sum = used.get(t.name);
        used.set(t.name, sum && round ? { cpuMs: sum.cpuMs + round.cpuMs, writes: sum.writes + round.writes, reads: sum.reads + round.reads } : undefined);
        str.get(t.name)!.push(res);
        say(`[streaming] round ${r + 1}/${o.rounds} ${t.name}: ${res.throughput.toFixed(0)} req/s, ${res.tokensPerSecond.toFixed(0)} tokens/s, gap p99 ${res.gapP99Ms.toFixed(2)} ms, ${res.errors} errors` +
          (round && res.tokens > 0 ? `; ${(round.cpuMs / (res.tokens / 1000)).toFixed(1)} CPU ms and ${(round.writes / (res.tokens / 1000)).toFixed(0)} writes per 1,000 tokens` : '') +
          `; load ${loadavg()[0]!.toFixed(2)}`);
      }
    }
    const loadAfter = loadavg();

    const rows: Row[] = targets.map((t) => {
      // direct's own row: its requests of llmux's phase.
      const phase = fixed.get(t.name === 'direct' ? 'llmux' : t.name);
      const own = phase ? fixedRateOf(phase.samples, t.name) : { count: 0, ...notMeasured };
      const direct = t.name === 'direct' || !phase ? undefined : fixedRateOf(phase.samples, 'direct');
      return {
        target: t.name,
        saturation: o.streamingOnly ? notMeasured : pooledSaturation(sat.get(t.name)!),
        fixedRate: { ...own, ...(direct ? { direct: { p50Ms: direct.p50Ms, p99Ms: direct.p99Ms } } : {}) },
        streaming: skipped[t.name] ? { skipped: skipped[t.name]! } : pooledStreaming(str.get(t.name)!, used.get(t.name)),
      };
    });
    const { log: _log, ...options } = o;
    const fixedRateOverloaded = !o.streamingOnly && (maxLagMs > overloadLagMs || rows.some((r) => r.fixedRate.p50Ms > r.saturation.p50Ms));
    return { options, loadBefore, loadAfter, maxLagMs, fixedRateOverloaded, rows, targets: targetsOf(rows) };
  } finally {
    await stack.stop();
  }
}
