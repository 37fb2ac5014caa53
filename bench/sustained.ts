/**
 * Sustained load: one `llmux up` (its own managed nats-server, nkey identities and permissions, as a
 * user runs it) taking round after round of non-streamed requests at saturation, so a cost that
 * grows with the requests served shows as throughput falling from round to round. Per round: the
 * throughput, p50/p99, and the CPU time nats-server and llmux spent per request (from /proc).
 *
 * With `--baseline-root DIR` (another llmux checkout, built), its `llmux up` runs beside this one
 * against the same simulator, rounds alternating, so both are measured in the same run.
 *
 *   npm run bench:sustained [-- --rounds 8 --requests 8000 --concurrency 32 --baseline-root /tmp/old]
 */
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { childrenNamed, cpuMs } from './lib/latency-cpu.js';
import { runLoad } from './lib/load.js';
import { launch, type Launched } from './lib/launch.js';
import { fmtRatio, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';

const { values } = benchArgs('bench:sustained', 'Sustained load: one `llmux up` (its own managed nats-server, nkey identities '
  + 'and permissions) taking round after round of non-streamed requests at saturation, so a cost that grows with the requests '
  + 'served shows as throughput falling from round to round. Per round: throughput, p50/p99, and the CPU time nats-server and '
  + 'llmux spent per request (from /proc). Prints a table and writes JSON to bench/results/.', {
  rounds: { type: 'string', default: '8', help: 'rounds per stack' },
  requests: { type: 'string', default: '8000', help: 'requests per round' },
  concurrency: { type: 'string', default: '32', help: 'requests in flight at once' },
  'baseline-root': { type: 'string', help: "another llmux checkout, built: its `llmux up` runs beside this one against the same simulator, rounds alternating (unset: this one alone)" },
});
const num = numberReader('bench:sustained', values);
const rounds = num('rounds', count);
const requests = num('requests', count);
const concurrency = num('concurrency', count);
const body = JSON.stringify({ model: 'demo/llmux-sim-8b', stream: false, max_tokens: 16, messages: [{ role: 'user', content: 'Say something about the sea.' }] });

/** CPU seconds a process has used so far; a process whose /proc cannot be read is a broken measurement. */
function cpuSeconds(pid: number): number {
  const ms = cpuMs(pid);
  if (ms === undefined) throw new Error(`cannot read the CPU time of process ${pid} from /proc`);
  return ms / 1000;
}

interface Stack {
  name: string;
  baseUrl: string;
  llmuxPid: number;
  natsPid: number;
  launched: Launched;
}

async function up(name: string, simUrl: string, root: string): Promise<Stack> {
  const launched = await launch(['up', '--port', '0', '--workers', '1', '--engine-url', simUrl], 'Press Ctrl-C', {}, root);
  const baseUrl = /base URL\s+(http:\/\/\S+)\/v1/.exec(launched.out)?.[1];
  if (!baseUrl) throw new Error(`could not read the gateway URL from llmux up:\n${launched.out}`);
  const natsPid = childrenNamed(launched.pid, 'nats-server')[0];
  if (!natsPid) throw new Error(`${name}: llmux up started no nats-server of its own`);
  return { name, baseUrl, llmuxPid: launched.pid, natsPid, launched };
}

interface Round {
  stack: string;
  round: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  natsCpuUsPerRequest: number;
  llmuxCpuUsPerRequest: number;
}

async function main(): Promise<void> {
  say(`bench:sustained — ${rounds} rounds × ${requests} requests, concurrency ${concurrency}${values['baseline-root'] ? `, beside ${values['baseline-root']}` : ''}`);
  const sim = await launch(['sim', '--port', '0', '--ttft-ms', '0', '--itl-ms', '0', '--max-concurrency', '256', '--model', 'llmux-sim-8b'], 'listening on');
  const simUrl = /listening on (http:\/\/\S+)/.exec(sim.out)?.[1];
  if (!simUrl) throw new Error(`could not read the simulator URL:\n${sim.out}`);
  const stacks: Stack[] = [];
  const results: Round[] = [];
  try {
    stacks.push(await up('this checkout', simUrl, '.'));
    if (values['baseline-root']) stacks.push(await up('baseline', simUrl, values['baseline-root']));
    for (let r = 1; r <= rounds; r++) {
      for (const s of stacks) {
        const nats0 = cpuSeconds(s.natsPid);
        const llmux0 = cpuSeconds(s.llmuxPid);
        const load = await runLoad({ url: s.baseUrl, path: '/v1/chat/completions', body, concurrency, requests });
        const row: Round = {
          stack: s.name, round: r, throughput: load.throughput, p50Ms: load.p50Ms, p99Ms: load.p99Ms, errors: load.errors,
          natsCpuUsPerRequest: ((cpuSeconds(s.natsPid) - nats0) * 1e6) / load.requests,
          llmuxCpuUsPerRequest: ((cpuSeconds(s.llmuxPid) - llmux0) * 1e6) / load.requests,
        };
        results.push(row);
        say(`[${s.name}] round ${r}/${rounds}: ${row.throughput.toFixed(0)} req/s, nats-server ${row.natsCpuUsPerRequest.toFixed(0)} µs CPU/request, ${row.errors} errors`);
      }
    }
  } finally {
    for (const s of stacks) await s.launched.stop();
    await sim.stop();
  }
  const rows = results.map((r) => [r.stack, String(r.round), r.throughput.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2),
    r.natsCpuUsPerRequest.toFixed(0), r.llmuxCpuUsPerRequest.toFixed(0), String(r.errors)]);
  process.stdout.write(`\n${formatTable(['stack', 'round', 'req/s', 'p50 ms', 'p99 ms', 'nats-server µs CPU/req', 'llmux µs CPU/req', 'errors'], rows)}\n\n`);
  // The first round warms the JIT: the trend is from round 2 to the last.
  for (const s of stacks) {
    const mine = results.filter((r) => r.stack === s.name);
    const second = mine[1];
    const last = mine.at(-1);
    if (second && last) say(`${s.name}: last round / round 2 = ${fmtRatio(last.throughput / second.throughput)} throughput, ${fmtRatio(last.natsCpuUsPerRequest / second.natsCpuUsPerRequest)} nats-server CPU per request`);
  }
  const file = writeResults('sustained', { ...machineInfo(), rounds, requests, concurrency, baselineRoot: values['baseline-root'] ?? null, results });
  say(`wrote ${file}`);
}

main().catch((error: unknown) => {
  say(`bench:sustained failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
