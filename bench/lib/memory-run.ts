/**
 * The core of `bench:memory`: a nats-server, an engine simulator and the llmux process
 * (memory-stack.ts), each a process of its own; N slow streams opened step by step; at each step
 * the RSS of the three, and the gateway's heap as its /metrics report it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNatsServer } from '../../src/transport/nats/nats-server-process.js';
import { metricsPage, openFds, procMiB, scrapeText, sumBy } from './memory-sample.js';
import { StreamClients } from './memory-streams.js';
import { reapOnExit } from './child-reaper.js';

export interface MemoryRunOptions {
  streams: number;
  /** In-flight counts to sample at (each ≤ streams); `streams` itself is always the last. */
  steps: number[];
  workers: number;
  capacity: number;
  itlMs: number;
  ttftMs: number;
  maxTokens: number;
  /** Streams opened but without a first token at most: the ramp goes as fast as llmux admits. */
  maxPending: number;
  /** Wait before each sample, for the process to settle. */
  settleMs: number;
  /** Take a heap snapshot of the llmux process when this many streams are in flight. */
  heapSnapshotAt?: number;
  /** The workers' lease timeout (default theirs, 2 s): how late the gateway's leases may come before a worker aborts the request. */
  leaseTimeoutMs?: number;
  /** Liveness relaxed for a memory-only run: the workers' keepalive (and so the alive frames per stream), the gateway's liveness timeout, the workers' engine-stall timeout. */
  keepaliveMs?: number;
  /** The workers in a process of their own (the gateway's holds the client sockets, theirs the engine sockets): each under the descriptor limit. */
  split?: boolean;
  livenessTimeoutMs?: number;
  engineStallMs?: number;
  say?: (line: string) => void;
}

export interface MemorySample {
  label: string;
  /** Streams meant to be in flight (0: idle). */
  target: number;
  /** Streams in flight when sampled (first token seen, no outcome yet). */
  inFlight: number;
  /** The llmux processes' RSS: the one, or front plus workers when split. */
  llmuxRssMiB: number;
  frontRssMiB: number;
  /** NaN unless split. */
  workersRssMiB: number;
  workersFds: number;
  /** The gateway's process_resident_memory_bytes (the same process, from its /metrics). */
  metricsRssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  natsRssMiB: number;
  simRssMiB: number;
  llmuxFds: number;
  /** Engine requests the workers aborted so far, by reason (orphaned: a lease came too late). */
  aborts: Record<string, number>;
  /** Streams moved to another worker so far, by error code. */
  migrations: Record<string, number>;
  seconds: number;
}

export interface MemoryReport {
  options: Omit<MemoryRunOptions, 'say'>;
  samples: MemorySample[];
  outcomes: { complete: number; error: number; hang: number; unfinished: number };
  firstErrors: string[];
  /** The most streams seen in flight at once. */
  maxInFlight: number;
  heapSnapshot?: string;
  /** Of the workers' process, when split. */
  workersHeapSnapshot?: string;
  fdLimit: number;
}

const fdLimit = 65_536;
// The stack runs compiled: from dist/ itself, or (under vitest, from the sources) the build's copy.
const here = fileURLToPath(new URL('.', import.meta.url));
const stackScript = here.includes('/dist/') ? join(here, 'memory-stack.js') : resolve('dist/bench/lib/memory-stack.js');

/** Spawns `node NODE_ARGS SCRIPT ARGS` with the descriptor limit raised, and waits (60 s at most) for `ready` on its stdout. */
async function start(nodeArgs: string[], script: string, args: string[], ready: RegExp, cwd: string): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  // `ulimit -n` in a shell that then execs node: the limit holds for the child only (raising the hard limit needs root; without it, the soft one up to the hard).
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`, process.execPath, ...nodeArgs, script, ...args], {
    cwd, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LLMUX_LOG_LEVEL: 'error' },
  });
  reapOnExit(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const started = Date.now();
  for (;;) {
    const match = ready.exec(out);
    if (match) return { child, match };
    if (child.exitCode !== null || Date.now() - started > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`${script} did not start:\n${out}`);
    }
    await sleep(50);
  }
}

const stop = (child: ChildProcess, ms = 20_000): Promise<void> => new Promise((done) => {
  if (child.exitCode !== null || child.signalCode !== null) return done();
  const kill = setTimeout(() => child.kill('SIGKILL'), ms);
  child.once('exit', () => {
    clearTimeout(kill);
    done();
  });
  child.kill('SIGTERM');
});

export async function runMemoryBench(options: MemoryRunOptions): Promise<MemoryReport> {
  const say = options.say ?? (() => undefined);
  const began = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), 'llmux-bench-memory-'));
  const nats = await startNatsServer();
  const children: ChildProcess[] = [];
  let clients: StreamClients | undefined;
  // Interrupted: the children go too (nats-server is tied to this process already).
  const interrupted = (): void => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const sim = await start([], resolve('bin/llmux.js'), ['sim', '--port', '0', '--ttft-ms', String(options.ttftMs), '--itl-ms', String(options.itlMs),
      '--max-concurrency', String(options.streams + 64), '--model', 'llmux-sim-8b'], /listening on (\S+)/, process.cwd());
    children.push(sim.child);
    const simUrl = sim.match[1] as string;
    const stackArgs = (role: string): string[] => ['--nats', nats.url, '--engine-url', simUrl, '--workers', String(options.workers), '--capacity', String(options.capacity), '--role', role,
      ...(options.leaseTimeoutMs ? ['--lease-timeout-ms', String(options.leaseTimeoutMs)] : []),
      ...(options.keepaliveMs ? ['--keepalive-ms', String(options.keepaliveMs)] : []),
      ...(options.livenessTimeoutMs ? ['--liveness-timeout-ms', String(options.livenessTimeoutMs)] : []),
      ...(options.engineStallMs ? ['--engine-stall-ms', String(options.engineStallMs)] : [])];
    const nodeArgs = ['--expose-gc', '--heapsnapshot-signal=SIGUSR2'];
    const workersProc = options.split ? await start(nodeArgs, stackScript, stackArgs('workers'), /memory-stack ready (\S+)/, workDir) : undefined;
    if (workersProc) children.push(workersProc.child);
    const llmux = await start(nodeArgs, stackScript, stackArgs(options.split ? 'front' : 'all'), /memory-stack ready (\S+)/, workDir);
    children.push(llmux.child);
    const llmuxPid = llmux.child.pid as number;
    const workersPid = workersProc?.child.pid;
    const simPid = sim.child.pid as number;
    const base = llmux.match[1] as string;
    say(`llmux pid ${llmuxPid}${workersPid ? `, workers pid ${workersPid}` : ''} at ${base} (${options.workers} workers of capacity ${options.capacity}); simulator pid ${simPid}; nats-server pid ${nats.pid}`);

    const idleMs = Math.max(30_000, options.itlMs * 20);
    const deadlineMs = options.ttftMs + options.maxTokens * options.itlMs * 2 + 10 * 60_000;
    clients = new StreamClients({ baseUrl: base, model: 'demo/llmux-sim-8b', maxTokens: options.maxTokens, idleMs, deadlineMs }, options.streams + 16);
    const samples: MemorySample[] = [];
    let maxInFlight = 0;
    const sample = async (label: string, target: number): Promise<void> => {
      const inFlight = clients?.inFlight() ?? 0;
      const page = await metricsPage(`${base}/metrics`);
      const m = scrapeText(page, ['llmux_gateway_process_resident_memory_bytes', 'llmux_gateway_nodejs_heap_size_used_bytes', 'llmux_gateway_nodejs_heap_size_total_bytes']);
      const s: MemorySample = {
        label, target, inFlight, frontRssMiB: procMiB(llmuxPid), workersRssMiB: workersPid ? procMiB(workersPid) : Number.NaN,
        workersFds: workersPid ? openFds(workersPid) : Number.NaN, llmuxRssMiB: procMiB(llmuxPid) + (workersPid ? procMiB(workersPid) : 0), natsRssMiB: procMiB(nats.pid), simRssMiB: procMiB(simPid),
        metricsRssMiB: (m.llmux_gateway_process_resident_memory_bytes ?? Number.NaN) / 2 ** 20,
        heapUsedMiB: (m.llmux_gateway_nodejs_heap_size_used_bytes ?? Number.NaN) / 2 ** 20,
        heapTotalMiB: (m.llmux_gateway_nodejs_heap_size_total_bytes ?? Number.NaN) / 2 ** 20,
        llmuxFds: openFds(llmuxPid), aborts: sumBy(page, 'llmux_worker_engine_aborts_total', 'reason'), migrations: sumBy(page, 'llmux_gateway_stream_migrations_total', 'error_code'), seconds: (Date.now() - began) / 1000,
      };
      samples.push(s);
      say(`${label}: ${s.inFlight} in flight; llmux RSS ${s.llmuxRssMiB.toFixed(0)} MiB${workersPid ? ` (gateway's ${s.frontRssMiB.toFixed(0)}, workers' ${s.workersRssMiB.toFixed(0)}, fds ${s.workersFds})` : ''} (gateway heap ${s.heapUsedMiB.toFixed(0)} MiB), nats-server ${s.natsRssMiB.toFixed(0)} MiB, simulator ${s.simRssMiB.toFixed(0)} MiB, llmux fds ${s.llmuxFds}; aborts ${JSON.stringify(s.aborts)}, migrations ${JSON.stringify(s.migrations)}`);
    };
    const gc = async (): Promise<void> => {
      llmux.child.kill('SIGHUP'); // memory-stack.ts runs a full GC on SIGHUP
      workersProc?.child.kill('SIGHUP');
      await sleep(options.settleMs);
    };

    // Warm up first (tokenizer pool, JIT, connection pools), so idle is llmux ready to serve rather than cold.
    const warm = new StreamClients({ baseUrl: base, model: 'demo/llmux-sim-8b', maxTokens: 3, idleMs, deadlineMs }, 200);
    for (let i = 0; i < Math.min(200, options.streams); i++) warm.open();
    await warm.settled();
    await warm.close();
    if (warm.count('complete') !== warm.streams.length) say(`warm-up: ${warm.count('complete')} of ${warm.streams.length} complete`);
    await gc();
    await sample('idle', 0);
    let heapSnapshot: string | undefined;
    let workersHeapSnapshot: string | undefined;
    const steps = [...new Set([...options.steps.filter((s) => s < options.streams), options.streams])].sort((a, b) => a - b);
    for (const target of steps) {
      // Open up to the step, never more than maxPending waiting for their first token; bounded by the time a stream lasts.
      const rampEnd = Date.now() + Math.min(deadlineMs, options.maxTokens * options.itlMs / 2);
      while (Date.now() < rampEnd) {
        const pending = clients.pending();
        if (clients.streams.length < target && pending < options.maxPending) {
          for (let i = 0; i < Math.min(50, target - clients.streams.length); i++) clients.open();
        } else if (clients.streams.length >= target && pending === 0) {
          break;
        }
        maxInFlight = Math.max(maxInFlight, clients.inFlight());
        await sleep(20);
      }
      await sleep(options.settleMs);
      maxInFlight = Math.max(maxInFlight, clients.inFlight());
      await sample(`${target} streams`, target);
      if (options.heapSnapshotAt === target) {
        heapSnapshot = await snapshot(llmux.child, workDir, say);
        if (workersProc) workersHeapSnapshot = await snapshot(workersProc.child, workDir, say);
      }
    }
    say('waiting for every stream to end ...');
    await clients.settled();
    await gc();
    await sample('after, GC', 0);
    await sleep(options.settleMs * 3);
    await gc();
    await sample('after, GC again', 0);
    const errors = clients.streams.filter((s) => s.outcome !== 'complete' && s.detail).map((s) => s.detail as string);
    return {
      options: { ...options, say: undefined } as Omit<MemoryRunOptions, 'say'>,
      samples,
      outcomes: { complete: clients.count('complete'), error: clients.count('error'), hang: clients.count('hang'), unfinished: clients.count(undefined) },
      firstErrors: [...new Set(errors)].slice(0, 5),
      maxInFlight, fdLimit,
      ...(heapSnapshot ? { heapSnapshot } : {}),
      ...(workersHeapSnapshot ? { workersHeapSnapshot } : {}),
    };
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await clients?.close().catch(() => undefined);
    for (const child of children.reverse()) await stop(child);
    await nats.stop();
  }
}

/** SIGUSR2 (--heapsnapshot-signal) and the file once its size stops changing (3 minutes at most). */
async function snapshot(child: ChildProcess, dir: string, say: (line: string) => void): Promise<string | undefined> {
  const before = new Set(readdirSync(dir));
  child.kill('SIGUSR2');
  say('heap snapshot asked ...');
  const until = Date.now() + 180_000;
  let last = -1;
  while (Date.now() < until) {
    await sleep(2_000);
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    if (size === last && size > 0) {
      say(`heap snapshot ${join(dir, file)} (${(size / 2 ** 20).toFixed(0)} MiB)`);
      return join(dir, file);
    }
    last = size;
  }
  say('heap snapshot did not finish within 3 minutes');
  return undefined;
}
