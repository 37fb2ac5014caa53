/**
 * Slow clients: N streaming clients that send a long request and then never read a byte. Without
 * backpressure the gateway buffers every token for them; with it, the socket fills, the worker
 * stops reading its engine, and after --client-stall-ms the requests are cancelled. Prints the
 * llmux process's RSS over time (gateway, router and workers; the simulator runs in its own
 * process), the cancels counted, and what the engine still runs.
 *
 *   npm run bench:slow-clients [-- --clients 50 --max-tokens 20000 --seconds 40]
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { launch } from './lib/launch.js';
import { formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';

const { values } = benchArgs('bench:slow-clients', 'Slow clients: N streaming clients that send a long request and then never '
  + "read a byte, through `llmux up` (2 workers) to a simulator at zero delay. Prints the llmux process's RSS over time, the "
  + 'slow-client cancels counted and what the engine still runs; writes JSON to bench/results/.', {
  clients: { type: 'string', default: '50', help: 'streaming clients that never read' },
  'max-tokens': { type: 'string', default: '20000', help: "max_tokens of each client's request (the model's context is widened to fit)" },
  seconds: { type: 'string', default: '40', help: 'how long to watch, sampling every 5 s' },
});
const num = numberReader('bench:slow-clients', values);
const clients = num('clients', count);
const maxTokens = num('max-tokens', count);
const seconds = num('seconds');


const rssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(line.replace(/\D+/g, '')) / 1024;
};

const metric = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
};

const sim = await launch(['sim', '--port', '0', '--ttft-ms', '0', '--itl-ms', '0', '--max-concurrency', '256', '--model', 'llmux-sim-8b'], 'listening on');
const simUrl = /listening on (\S+)/.exec(sim.out)?.[1] as string;
const adminKey = 'llmux-admin-bench-slow-clients';
const up = await launch(['up', '--port', '0', '--workers', '2', '--engine-url', simUrl, '--model', 'llmux-sim-8b', '--admin-key', adminKey], 'Press Ctrl-C');
const base = (/base URL\s+(\S+)/.exec(up.out)?.[1] as string).replace(/\/v1$/, '');
// The demo model's context (8192) is too short for the streams asked for: widen it through the admin API.
const widened = await fetch(`${base}/admin/api/functions/demo/versions/v1/models/llmux-sim-8b`, {
  method: 'PATCH', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
  body: JSON.stringify({ contextLength: maxTokens + 1024 }),
});
if (!widened.ok) throw new Error(`could not widen the model's context: ${widened.status} ${await widened.text()}`);
await new Promise((r) => setTimeout(r, 500)); // the routers' catalogs follow through their KV watch
const { hostname, port } = new URL(base);
const samples: Array<{ t: number; rssMb: number; heapMb: number; bufferedMb: number; running: number; cancels: number }> = [];
const sample = async (t: number): Promise<void> => {
  samples.push({
    t, rssMb: rssMb(up.pid), running: await metric(`${simUrl}/metrics`, 'vllm:num_requests_running'),
    heapMb: (await metric(`${base}/metrics`, 'llmux_gateway_nodejs_heap_size_used_bytes')) / 2 ** 20,
    bufferedMb: (await metric(`${base}/metrics`, 'llmux_gateway_client_buffered_bytes')) / 2 ** 20,
    cancels: await metric(`${base}/metrics`, 'llmux_gateway_slow_client_cancels_total'),
  });
  const s = samples.at(-1)!;
  say(`t=${t}s rss ${s.rssMb.toFixed(0)} MB, heap ${s.heapMb.toFixed(0)} MB, unread ${s.bufferedMb.toFixed(2)} MB, engine running ${s.running}, slow-client cancels ${s.cancels}`);
};

await sample(0);
const sockets: Socket[] = [];
const body = JSON.stringify({ model: 'demo/llmux-sim-8b', stream: true, max_tokens: maxTokens, messages: [{ role: 'user', content: 'a very long answer' }] });
for (let i = 0; i < clients; i++) {
  const socket = connect(Number(port), hostname);
  // Never read: the kernel's receive buffer fills, then the gateway's socket, then (without backpressure) its memory.
  socket.pause();
  socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  socket.on('error', () => undefined);
  sockets.push(socket);
}
for (let t = 5; t <= seconds; t += 5) {
  await new Promise((r) => setTimeout(r, 5_000));
  await sample(t);
}
for (const s of sockets) s.destroy();
await up.stop();
await sim.stop();

const rows = samples.map((s) => [String(s.t), s.rssMb.toFixed(0), s.heapMb.toFixed(0), s.bufferedMb.toFixed(2), String(s.running), String(s.cancels)]);
process.stdout.write(`\n${clients} clients that never read, max_tokens ${maxTokens}, simulator at zero delay\n\n`);
process.stdout.write(`${formatTable(['t (s)', 'llmux RSS (MB)', 'JS heap used (MB)', 'unread in gateway (MB)', 'engine running', 'slow-client cancels'], rows)}\n`);
writeResults('slow-clients', { machine: machineInfo(), clients, maxTokens, samples });
