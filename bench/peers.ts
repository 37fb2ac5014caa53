/**
 * llmux against a peer gateway, in one run against one engine simulator (zero delays, its own
 * process): straight to the simulator, through llmux (`llmux up --workers 1`, its own process) and
 * through the peer (`@portkey-ai/gateway`, pinned, installed at bench time into a scratch directory
 * outside the repository, never a dependency of llmux; run with `--port=N --headless`, its requests
 * carrying `x-portkey-provider: openai` and `x-portkey-custom-host: <simulator>/v1`).
 *
 * Measures non-streaming saturation (closed loop, alternating rounds), latency at a fixed rate
 * (open loop, one phase per gateway interleaved with direct requests) and streaming at saturation, then the issue's targets. Prints tables
 * and writes JSON to bench/results/.
 *
 * `--baseline DIR` adds another llmux checkout (DIR/bin/llmux.js over DIR/dist, e.g. a copy of an
 * older build) as the `baseline` row, alternating with this one in every phase; `--streaming-only`
 * skips the saturation and fixed-rate phases. Streaming rows of llmux processes also give their CPU
 * time and system calls per 1,000 tokens (/proc), steadier than throughput on a shared machine.
 *
 *   npm run bench:peers [-- --concurrency 32 --rounds 2 --seconds 5 --rate 200 --rate-seconds 15 --stream-tokens 64 --no-peer --baseline DIR --streaming-only]
 */
import { benchArgs } from './lib/cli-args.js';
import { ensurePeer, type PeerInstall } from './lib/peer-install.js';
import { runPeerBench } from './lib/peer-run.js';
import { fmt, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';

const { values } = benchArgs('bench:peers', 'llmux against a peer gateway (@portkey-ai/gateway, pinned, installed at bench time '
  + 'into a scratch directory outside the repository), in one run against one engine simulator: straight to the simulator, '
  + 'through llmux and through the peer. Measures non-streaming saturation, latency at a fixed rate and streaming at '
  + 'saturation, then the issue\'s targets. Prints tables and writes JSON to bench/results/.', {
  concurrency: { type: 'string', default: '32', help: 'connections of the saturation and streaming loads' },
  rounds: { type: 'string', default: '2', help: 'rounds of the saturation and streaming phases, targets alternating' },
  seconds: { type: 'string', default: '5', help: 'seconds of each saturation and streaming run (one target, one round)' },
  'warmup-seconds': { type: 'string', default: '5', help: 'seconds of warm-up per target, before the saturation and before the streaming runs' },
  rate: { type: 'string', default: '200', help: 'requests per second to each target in the fixed-rate phase' },
  'rate-seconds': { type: 'string', default: '15', help: 'seconds of the fixed-rate phase per target' },
  'max-tokens': { type: 'string', default: '16', help: 'max_tokens of the non-streaming requests' },
  'stream-tokens': { type: 'string', default: '64', help: 'tokens of each streaming request' },
  'no-peer': { type: 'boolean', default: false, help: 'leave the peer out (no install)' },
  baseline: { type: 'string', help: 'another llmux checkout (DIR/bin/llmux.js over DIR/dist) as the baseline row, alternating with this one in every phase (unset: none)' },
  'streaming-only': { type: 'boolean', default: false, help: 'skip the saturation and fixed-rate phases' },
});

const num = (v: string | undefined, name: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
};

async function main(): Promise<void> {
  let peer: PeerInstall | undefined;
  if (!values['no-peer']) {
    peer = ensurePeer(say);
    say(`peer: ${peer.package}@${peer.version} (${peer.license}) ${peer.installed ? 'installed just now' : 'already installed'} in ${peer.dir} (not a dependency of llmux)`);
  }
  const options = {
    concurrency: num(values.concurrency, 'concurrency'), rounds: num(values.rounds, 'rounds'), runSeconds: num(values.seconds, 'seconds'),
    warmupSeconds: num(values['warmup-seconds'], 'warmup-seconds'), rate: num(values.rate, 'rate'), rateSeconds: num(values['rate-seconds'], 'rate-seconds'),
    maxTokens: num(values['max-tokens'], 'max-tokens'), streamTokens: num(values['stream-tokens'], 'stream-tokens'),
  };
  say(`bench:peers — saturation ${options.rounds} × ${options.runSeconds} s per target at ${options.concurrency} connections; ` +
    `${options.rate} req/s to each for ${options.rateSeconds} s; streaming ${options.streamTokens} tokens per request`);
  const report = await runPeerBench({ ...options, ...(peer ? { peerEntry: peer.entry } : {}),
    ...(values.baseline ? { baselineRoot: values.baseline } : {}), streamingOnly: values['streaming-only'], log: say });

  const f2 = (v: number) => fmt(v, 2);
  const rows = report.rows.map((r) => {
    const s = r.streaming;
    return [r.target, fmt(r.saturation.rps), f2(r.saturation.p50Ms), f2(r.saturation.p99Ms), f2(r.fixedRate.p50Ms), f2(r.fixedRate.p99Ms),
      ...('skipped' in s ? ['skipped', '', '', ''] : [fmt(s.rps), fmt(s.tokensPerSecond), f2(s.gapP50Ms), f2(s.gapP99Ms)]),
      String(r.saturation.errors + r.fixedRate.errors + ('skipped' in s ? 0 : s.errors))];
  });
  process.stdout.write(`\n${formatTable(['path', 'sat req/s', 'sat p50', 'sat p99', `${options.rate}/s p50`, `${options.rate}/s p99`, 'stream req/s', 'tokens/s', 'gap p50', 'gap p99', 'errors'], rows)}\n`);
  const perToken = report.rows.flatMap((r) => ('skipped' in r.streaming || !r.streaming.perKiloToken ? [] : [[r.target,
    f2(r.streaming.perKiloToken.cpuMs), fmt(r.streaming.perKiloToken.writes), fmt(r.streaming.perKiloToken.reads)]]));
  if (perToken.length > 0) process.stdout.write(`\n${formatTable(['streaming, per 1,000 tokens', 'CPU ms', 'write calls', 'read calls'], perToken)}\n`);
  const direct = report.rows.find((r) => r.target === 'direct')?.streaming;
  for (const r of report.rows.filter((x) => x.target === 'baseline' || x.target === 'llmux')) {
    const s = r.streaming;
    if ('skipped' in s || !direct || 'skipped' in direct) continue;
    process.stdout.write(`${r.target} streaming: ${fmt(s.tokensPerSecond)} tokens/s, inter-token overhead p99 ${f2(s.gapP99Ms - direct.gapP99Ms)} ms (gap p99 ${f2(s.gapP99Ms)} less direct's ${f2(direct.gapP99Ms)})\n`);
  }
  for (const r of report.rows) {
    if ('skipped' in r.streaming) process.stdout.write(`${r.target} streaming ${r.streaming.skipped}\n`);
    for (const e of [r.saturation.firstError, r.fixedRate.firstError, 'skipped' in r.streaming ? undefined : r.streaming.firstError]) {
      if (e) process.stdout.write(`${r.target} first error: ${e}\n`);
    }
  }
  for (const r of report.rows) {
    const d = r.fixedRate.direct;
    if (d) process.stdout.write(`${r.target} at ${options.rate} req/s: p50 ${f2(r.fixedRate.p50Ms)} ms, p99 ${f2(r.fixedRate.p99Ms)} ms; direct in the same phase ${f2(d.p50Ms)} / ${f2(d.p99Ms)} ms: added ${f2(r.fixedRate.p50Ms - d.p50Ms)} / ${f2(r.fixedRate.p99Ms - d.p99Ms)} ms\n`);
  }
  const targets = report.targets.map((t) => [t.name, t.unit === 'x' ? `${t.value.toFixed(2)}x` : `${fmt(t.value, t.unit === 'ms' ? 2 : 0)} ${t.unit}`, t.goal, t.met ? 'met' : 'NOT met']);
  process.stdout.write(`\n${formatTable(['target', 'value', 'goal', ''], targets)}\n\n`);
  say(`load average ${report.loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${report.loadAfter.map((l) => l.toFixed(2)).join(' ')} after; fixed-rate sender at most ${report.maxLagMs.toFixed(1)} ms late`);
  if (report.fixedRateOverloaded) {
    say(`WARNING: the fixed-rate phase did not hold ${options.rate} req/s per target (sender up to ${report.maxLagMs.toFixed(0)} ms late, or a p50 above its saturation p50): ` +
      'its latencies are queueing on an overloaded machine, not the latency at that rate');
  }
  const file = writeResults('peers', { ...machineInfo(), peer: peer ?? null, ...report });
  say(`wrote ${file}`);
}

main().catch((error: unknown) => {
  say(`bench:peers failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
