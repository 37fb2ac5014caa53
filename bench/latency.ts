/**
 * Latency at a fixed rate, not at saturation: the same requests straight to one engine simulator
 * (zero delays, its own process) and through `llmux up` (one worker), interleaved in one run;
 * p50/p90/p99 of each, what llmux adds, and that addition split by hop (hop timing on in the
 * llmux process: src/observability/hop-timing.ts). Prints tables and writes JSON to bench/results/.
 *
 *   npm run bench:latency [-- --rate 200 --seconds 20 --warmup-seconds 3 --streaming --tokens 64 --threads N --cpu-prof-dir DIR --json]
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { readProfile, summarizeProfile } from './lib/latency-profile.js';
import { type LatencyReport, runLatencyBench } from './lib/latency-run.js';
import type { Pct } from './lib/latency-hops.js';
import { formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';

const { values } = benchArgs('bench:latency', 'Latency at a fixed rate, not at saturation: the same requests straight to one '
  + 'engine simulator (zero delays, its own process) and through `llmux up`, interleaved in one run; p50/p90/p99 of each, '
  + 'what llmux adds, and that addition split by hop (hop timing on in the llmux process). Prints tables and writes JSON to bench/results/.', {
  rate: { type: 'string', default: '200', help: 'requests per second to each of direct and llmux' },
  seconds: { type: 'string', default: '20', help: 'seconds measured' },
  'warmup-seconds': { type: 'string', default: '3', help: 'seconds of warm-up at the same rate first (0: none)' },
  streaming: { type: 'boolean', default: false, help: 'streamed requests instead of non-streamed ones' },
  tokens: { type: 'string', default: '16', help: 'max_tokens of every request' },
  'cpu-prof-dir': { type: 'string', help: '`llmux up` runs with --cpu-prof and writes its profile into this directory (unset: no profile)' },
  threads: { type: 'string', default: '1', help: '`llmux up --threads N` (1: every role on the main thread)' },
  json: { type: 'boolean', default: false, help: 'the report as JSON on stdout instead of the tables' },
});

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const row = (name: string, p: Pct, extra: string[] = []): string[] => [name, ms(p.p50), ms(p.p90), ms(p.p99), ms(p.mean), ...extra];

function print(r: LatencyReport): void {
  const load = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
  const out: string[] = [];
  out.push(`${r.options.streaming ? 'streaming' : 'non-streaming'}, ${r.options.tokens} tokens, ${r.options.rate} req/s to each, ${r.seconds.toFixed(1)} s, llmux up --threads ${r.options.threads ?? 1}; `
    + `load average before ${load(r.loadBefore)}, after ${load(r.loadAfter)}; client send lag ≤ ${r.maxLagMs.toFixed(2)} ms`);
  out.push(`errors: direct ${r.errors.direct}, llmux ${r.errors.llmux}${r.errors.first ? ` (first: ${r.errors.first})` : ''}`);
  out.push('', formatTable(['path', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'requests'], [
    row('direct', r.direct, [String(r.direct.count)]),
    row('llmux', r.llmux, [String(r.llmux.count)]),
    row('added (llmux − direct)', r.added),
  ]));
  const b = r.breakdown;
  out.push('', `by hop (${b.requests} llmux requests with every stamp, ${b.incomplete} without${b.firstMissing ? `: missing ${b.firstMissing.join(', ')}` : ''})`, '');
  out.push(formatTable(['hop', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', '< 0'], b.rows.map((h) => row(`${h.hop.group}: ${h.hop.name}`, h.ms, [String(h.negative)]))));
  out.push('', formatTable(['hop (the issue\'s)', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms'], [
    ...r.groups.map((g) => row(g.group, g.ms)),
    row('engine call less a direct request (overhead)', r.engineOverhead),
    row('Σ hops (c.send → c.recv)', b.total),
  ]));
  out.push('', `check: per request |Σ hops − total| ≤ ${b.maxTilingErrorMs.toExponential(1)} ms; Σ hop means − mean total = ${b.meanGapMs.toFixed(4)} ms; `
    + `Σ hop p50s − p50 total = ${b.p50GapMs.toFixed(2)} ms (percentiles do not add)`);
  const f = r.addedFromHops;
  out.push(`check: added rebuilt from the hops (engine call less direct) p50 ${ms(f.p50)} / p90 ${ms(f.p90)} / p99 ${ms(f.p99)} / mean ${ms(f.mean)} ms `
    + `against measured ${ms(r.added.p50)} / ${ms(r.added.p90)} / ${ms(r.added.p99)} / ${ms(r.added.mean)} ms`);
  const cpu = r.cpuPerRequestMs;
  const c = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(3)} ms`);
  out.push(`CPU per llmux request during the run: llmux process ${c(cpu.llmux)}, its nats-server ${c(cpu.natsServer)}, simulator ${c(cpu.simulator)} (the simulator serves both paths)`);
  if (r.syscallsPerRequest) out.push(`system calls of the llmux process per llmux request: ${r.syscallsPerRequest.writes.toFixed(2)} writes, ${r.syscallsPerRequest.reads.toFixed(2)} reads`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The llmux process's main-thread profile (the largest one written; the tokenizer pool's threads write their own) summarized. */
function profileOf(dir: string): ReturnType<typeof summarizeProfile> & { file: string } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  const file = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const s = summarizeProfile(readProfile(file));
  const share = (v: number): string => `${(v * 100).toFixed(1)} %`;
  process.stdout.write(`\nCPU profile ${file}: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(2)} s busy (shares of busy time)\n\n`);
  process.stdout.write(`${formatTable(['group', 'self ms', 'share'], s.groups.slice(0, 20).map((g) => [g.group, g.ms.toFixed(0), share(g.share)]))}\n\n`);
  process.stdout.write(`${formatTable(['group, node internals charged to their caller', 'self ms', 'share'], s.byCaller.slice(0, 20).map((g) => [g.group, g.ms.toFixed(0), share(g.share)]))}\n\n`);
  process.stdout.write(`${formatTable(['function (self time)', 'group', 'self ms', 'share'], s.functions.map((f) => [f.name, f.group, f.ms.toFixed(0), share(f.share)]))}\n`);
  return { file, ...s };
}

async function main(): Promise<void> {
  const num = numberReader('bench:latency', values);
  const report = await runLatencyBench({
    rate: num('rate', { min: 0.001 }), seconds: num('seconds'), warmupSeconds: num('warmup-seconds'),
    streaming: values.streaming, tokens: num('tokens', count), ...(values['cpu-prof-dir'] ? { cpuProfDir: values['cpu-prof-dir'] } : {}),
    threads: num('threads', count), log: say,
  });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else print(report);
  const profile = values['cpu-prof-dir'] ? profileOf(values['cpu-prof-dir']) : undefined;
  const file = writeResults('latency', { ...machineInfo(), ...report, ...(profile ? { profile } : {}) });
  say(`wrote ${file}`);
}

main().catch((error: unknown) => {
  say(`bench:latency failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
