/**
 * What tracing costs one request in CPU, without the rest of llmux: the six spans of a request (server,
 * counting, admission, decision, worker, engine call) made by the helpers in src/observability/spans.ts
 * and exported over OTLP http/protobuf to a receiver in this process, at the sampler the environment
 * names (`OTEL_TRACES_SAMPLER`, default parent-based always-on).
 *
 *   npm run build && node dist/bench/span-cost.js [--requests 30000]
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { benchArgs, count, numberReader } from './lib/cli-args.js';

const { values } = benchArgs('bench:span-cost', 'What tracing costs one request in CPU, without the rest of llmux: the six '
  + 'spans of a request made by the helpers in src/observability/spans.ts and exported over OTLP http/protobuf to a receiver '
  + 'in this process, at the sampler OTEL_TRACES_SAMPLER names (default parent-based always-on).', {
  requests: { type: 'string', default: '30000', help: 'requests measured, after a warm-up of 5,000' },
});
const num = numberReader('bench:span-cost', values);
const requests = num('requests', count);

/** What the receiver got: a span is ~400 bytes, so bytes per request show spans the batch processor dropped. */
let exportedBytes = 0;
const sink = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (exportedBytes += chunk.length));
  req.on('end', () => res.end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
const { startTracing, stopTracing } = await import('../src/observability/tracing.js');
const { traceDecision, traceInference, traceRouting, traceWorker } = await import('../src/observability/spans.js');
await startTracing('bench');

const request = {
  headers: { 'user-agent': 'bench' }, method: 'POST', url: '/v1/chat/completions', httpVersion: '1.1',
  socket: { localAddress: '127.0.0.1', localPort: 8080 },
} as unknown as IncomingMessage;

const bucket = { scope: 'key:k', spec: '1000000-M', counts: 'tokens' as const };
const limiter = { reserve: async () => ({ ok: true as const, completionTokens: 16, states: [], at: 0 }) };

async function one(): Promise<void> {
  const res = Object.assign(new EventEmitter(), { statusCode: 200 }) as unknown as ServerResponse;
  const trace = traceInference(request, res, 'chat', 'demo/m');
  await trace.counting(async () => ({ total: 12 }));
  // A request some limit applies to: admission reserves with the limiter (one span); without limits there is none.
  await trace.limiter(limiter).reserve({ id: 'r', buckets: [bucket], promptTokens: 12, completion: { wanted: 16, flexible: false } });
  const end = trace.ending(() => undefined);
  traceRouting(trace.traceparent, 'llmux.route.demo', () => traceDecision({
    attempt: 1, method: 'least-loaded', outcome: 'dispatched', decisionMicros: 12, winner: 'w1', locality: 'prefer',
    candidates: [{ workerId: 'w1', cluster: 'c', inFlight: 0, capacity: 8 }, { workerId: 'w2', cluster: 'c', inFlight: 0, capacity: 8, excluded: 'draining' }],
  }, () => 'v1'));
  const worker = traceWorker(trace.traceparent, { requestId: 'r', model: 'm', operation: 'chat', routing: { attempt: 1 } }, 'vllm', 'w1');
  worker.end('ok', { promptTokens: 12, completionTokens: 16 });
  end({ outcome: 'ok', status: 200, promptTokens: 12, completionTokens: 16, finishReason: 'length', workerId: 'w1' });
}

/** A server's event loop turns between requests: the batch processor's timer and exports run, as they would there. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
for (let i = 0; i < 5_000; i++) {
  await one();
  if (i % 64 === 63) await turn();
}
const bytes0 = exportedBytes;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
for (let i = 0; i < requests; i++) {
  await one();
  if (i % 64 === 63) await turn();
}
await stopTracing();
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`sampler ${process.env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on'}: ${((cpu.user + cpu.system) / requests).toFixed(1)} µs CPU and `
  + `${(((performance.now() - wall0) * 1000) / requests).toFixed(1)} µs wall per request (6 spans made and exported, `
  + `${((exportedBytes - bytes0) / requests).toFixed(0)} bytes a request received)\n`);
sink.close();
