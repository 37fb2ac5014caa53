/**
 * Memory per in-flight stream: N concurrent slow streams (one token per --itl-ms) through the
 * llmux process (limiter, router, gateway and workers in one process, as `llmux up --engine-url`;
 * see lib/memory-stack.ts for why not `llmux up` itself), with nats-server and the simulator in
 * processes of their own. Samples the RSS of each at idle, at each step of streams in flight and
 * after they end (after a full GC), and prints (RSS at N − idle) / N.
 *
 *   npm run bench:memory [-- --streams 10000 --steps 1000,2500,5000 --workers 80 --capacity 128 --itl-ms 1000 --max-tokens 300 --heap-snapshot --lease-timeout-ms 2000 --split]
 *   # --split: the workers in a process of their own, so that neither holds more than 10,000 sockets (the descriptor limit here is 20,000 and cannot be raised)
 *   # 10,000 slow streams with the default liveness (docs/benchmarks.md): --split --itl-ms 1000 --max-tokens 150 --max-pending 200
 *   # liveness relaxed (as before the workers' keepalive went per gateway): --itl-ms 5000 --max-tokens 60 --keepalive-ms 5000 --liveness-timeout-ms 20000 --lease-timeout-ms 30000 --engine-stall-ms 30000
 */
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { runMemoryBench } from './lib/memory-run.js';
import { formatMemoryReport } from './lib/memory-report.js';
import { machineInfo, progress, writeResults } from './lib/report.js';

const { values } = benchArgs('bench:memory', 'Memory per in-flight stream: N concurrent slow streams through the llmux process '
  + '(limiter, router, gateway and workers in one process, as `llmux up --engine-url`), with nats-server and the simulator in '
  + 'processes of their own. Samples the RSS of each at idle, at each step of streams in flight and after they end (after a '
  + 'full GC), and prints (RSS at N - idle) / N; writes JSON to bench/results/.', {
  streams: { type: 'string', default: '10000', help: 'concurrent slow streams at the top (always the last step)' },
  steps: { type: 'string', default: '1000,2500,5000', help: 'comma-separated streams in flight to sample at on the way up (each <= --streams)' },
  workers: { type: 'string', help: "llmux workers (unset: enough that capacity, not the workers' 128-connection engine pools, bounds them: ceil(streams × 1.05 / min(capacity, 128)))" },
  capacity: { type: 'string', default: '128', help: "each worker's capacity (requests at once)" },
  'itl-ms': { type: 'string', default: '1000', help: "the simulator's inter-token latency, ms: one token per stream every this often" },
  'ttft-ms': { type: 'string', default: '0', help: "the simulator's time to first token, ms" },
  'max-tokens': { type: 'string', default: '300', help: 'max_tokens of each stream' },
  'max-pending': { type: 'string', default: '500', help: 'streams opened but without a first token at most (the ramp goes as fast as llmux admits)' },
  'settle-ms': { type: 'string', default: '3000', help: 'wait before each sample, ms, for the processes to settle' },
  'heap-snapshot': { type: 'boolean', default: false, help: 'a heap snapshot of the llmux process with --streams streams in flight' },
  split: { type: 'boolean', default: false, help: 'the workers in a process of their own, so that neither holds more than 10,000 sockets (the descriptor limit)' },
  'lease-timeout-ms': { type: 'string', help: "the workers' lease timeout, ms: how late the gateway's leases may come before a worker aborts the request (unset: theirs, 2,000)" },
  'keepalive-ms': { type: 'string', help: "the workers' keepalive, ms, and so the alive frames per stream (unset: theirs)" },
  'liveness-timeout-ms': { type: 'string', help: "the gateway's liveness timeout, ms (unset: its own)" },
  'engine-stall-ms': { type: 'string', help: "the workers' engine-stall timeout, ms (unset: theirs)" },
});
const num = numberReader('bench:memory', values);
const streams = num('streams', count);
const capacity = num('capacity', count);
// Each worker's engine pool holds 128 connections: enough workers that capacity, not the pool, bounds them.
const workers = values.workers ? num('workers', count) : Math.ceil((streams * 1.05) / Math.min(capacity, 128));
const report = await runMemoryBench({
  streams, steps: values.steps.split(',').map(Number), workers, capacity,
  itlMs: num('itl-ms'), ttftMs: num('ttft-ms'), maxTokens: num('max-tokens', count),
  maxPending: num('max-pending', count), settleMs: num('settle-ms'),
  ...(values['heap-snapshot'] ? { heapSnapshotAt: streams } : {}),
  split: values.split,
  ...(values['lease-timeout-ms'] ? { leaseTimeoutMs: num('lease-timeout-ms') } : {}),
  ...(values['keepalive-ms'] ? { keepaliveMs: num('keepalive-ms') } : {}),
  ...(values['liveness-timeout-ms'] ? { livenessTimeoutMs: num('liveness-timeout-ms') } : {}),
  ...(values['engine-stall-ms'] ? { engineStallMs: num('engine-stall-ms') } : {}),
  say: progress,
});
process.stdout.write(`${formatMemoryReport(report)}\n`);
writeResults('memory', { machine: machineInfo(), ...report });
