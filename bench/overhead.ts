/**
 * Gateway overhead: the same requests at the same concurrency, straight to one engine simulator
 * (zero TTFT and inter-token delay, its own process) and through llmux (`llmux up` with one worker:
 * gateway → NATS → router → worker → that simulator), alternating rounds in one run so drift hits
 * both alike. Prints a table and writes JSON to bench/results/.
 *
 * The streaming case runs twice through llmux: as is, and resumable (the stream journal on).
 *
 *   npm run bench:overhead [-- --requests 2000 --concurrency 32 --rounds 2 --max-tokens 16]
 */
import { parseArgs } from 'node:util';
import { type LoadResult, runLoad } from './lib/load.js';
import { launch } from './lib/launch.js';
import { formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    'max-tokens': { type: 'string', default: '16' },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const maxTokens = Number(values['max-tokens']);

interface Stack {
  baseUrl: string;
  simUrl: string;
  stop(): Promise<void>;
}


/**
 * The simulator runs in its own process, as an engine would on its own machine, so the llmux
 * process (gateway, router, worker, each with its own NATS connection) does only llmux's work.
 */
async function startStack(): Promise<Stack> {
  const sim = await launch(['sim', '--port', '0', '--ttft-ms', '0', '--itl-ms', '0', '--max-concurrency', '256', '--model', 'llmux-sim-8b'], 'listening on');
  const simUrl = /listening on (http:\/\/\S+)/.exec(sim.out)?.[1];
  if (!simUrl) throw new Error(`could not read the simulator URL:\n${sim.out}`);
  const up = await launch(['up', '--port', '0', '--workers', '1', '--engine-url', simUrl], 'Press Ctrl-C');
  const baseUrl = /base URL\s+(http:\/\/\S+)\/v1/.exec(up.out)?.[1];
  if (!baseUrl) throw new Error(`could not read the gateway URL from llmux up:\n${up.out}`);
  return {
    baseUrl,
    simUrl,
    stop: async () => {
      await up.stop();
      await sim.stop();
    },
  };
}

type Case = { name: string; stream: boolean; headers?: Record<string, string> };
const cases: Case[] = [
  { name: 'chat, non-streaming', stream: false },
  { name: 'chat, streaming', stream: true },
  // What the stream journal costs: every event also appended to JetStream (opt-in per request).
  { name: 'chat, streaming, resumable', stream: true, headers: { 'x-llmux-resumable': '1' } },
];

function body(model: string, stream: boolean): string {
  return JSON.stringify({ model, stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Say something about the sea.' }] });
}

async function main(): Promise<void> {
  say(`bench:overhead — ${requests} requests × ${rounds} rounds per path, concurrency ${concurrency}, ${maxTokens} tokens each`);
  const stack = await startStack();
  say(`llmux at ${stack.baseUrl}, simulator at ${stack.simUrl}`);
  const results: Array<{ case: string; path: 'direct' | 'llmux'; rounds: LoadResult[] }> = [];
  try {
    for (const c of cases) {
      const direct = { url: stack.simUrl, path: '/v1/chat/completions', body: body('llmux-sim-8b', c.stream) };
      const viaLlmux = { url: stack.baseUrl, path: '/v1/chat/completions', body: body('demo/llmux-sim-8b', c.stream), ...(c.headers ? { headers: c.headers } : {}) };
      say(`[${c.name}] warm-up`);
      await runLoad({ ...direct, concurrency, requests: Math.min(500, requests) });
      await runLoad({ ...viaLlmux, concurrency, requests: Math.min(500, requests) });
      const d: LoadResult[] = [];
      const l: LoadResult[] = [];
      for (let r = 1; r <= rounds; r++) {
        d.push(await runLoad({ ...direct, concurrency, requests }));
        say(`[${c.name}] round ${r}/${rounds} direct: ${d.at(-1)!.throughput.toFixed(0)} req/s`);
        l.push(await runLoad({ ...viaLlmux, concurrency, requests }));
        say(`[${c.name}] round ${r}/${rounds} llmux:  ${l.at(-1)!.throughput.toFixed(0)} req/s`);
      }
      results.push({ case: c.name, path: 'direct', rounds: d }, { case: c.name, path: 'llmux', rounds: l });
    }
  } finally {
    await stack.stop();
  }

  const summary = (rs: LoadResult[]) => ({
    throughput: rs.reduce((a, r) => a + r.throughput, 0) / rs.length,
    p50Ms: rs.reduce((a, r) => a + r.p50Ms, 0) / rs.length,
    p99Ms: rs.reduce((a, r) => a + r.p99Ms, 0) / rs.length,
    errors: rs.reduce((a, r) => a + r.errors, 0),
  });
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const c of cases) {
    const d = summary(results.find((r) => r.case === c.name && r.path === 'direct')!.rounds);
    const l = summary(results.find((r) => r.case === c.name && r.path === 'llmux')!.rounds);
    rows.push([c.name, 'direct', d.throughput.toFixed(0), d.p50Ms.toFixed(2), d.p99Ms.toFixed(2), String(d.errors)]);
    rows.push([c.name, 'llmux', l.throughput.toFixed(0), l.p50Ms.toFixed(2), l.p99Ms.toFixed(2), String(l.errors)]);
    rows.push([c.name, 'llmux/direct', (l.throughput / d.throughput).toFixed(2), (l.p50Ms / d.p50Ms).toFixed(2), (l.p99Ms / d.p99Ms).toFixed(2), '']);
    json.push({ case: c.name, direct: d, llmux: l, ratio: { throughput: l.throughput / d.throughput, p50: l.p50Ms / d.p50Ms, p99: l.p99Ms / d.p99Ms } });
  }
  process.stdout.write(`\n${formatTable(['case', 'path', 'req/s', 'p50 ms', 'p99 ms', 'errors'], rows)}\n\n`);
  const file = writeResults('overhead', { ...machineInfo(), requests, rounds, concurrency, maxTokens, results: json });
  say(`wrote ${file}`);
}

main().catch((error: unknown) => {
  say(`bench:overhead failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
