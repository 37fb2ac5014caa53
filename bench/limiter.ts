/**
 * How to hold a token limit across gateway replicas, measured. The limiter actor (one process holds
 * every limit; each request is one NATS round trip) against the alternative it was chosen over:
 * quota leases (each gateway takes a slice of the limit and admits locally, asking again when it runs
 * out), whose worst over-admission is what the other replicas hold but have not used. Measured here:
 * the limiter's round trip and throughput through a real nats-server, and a reservation's cost in
 * process (what a lease-holding gateway would spend instead).
 *
 *   npm run bench:limiter [-- --requests 20000 --concurrency 64]
 */
import { LimiterClient } from '../src/actors/gateway/limiter-client.js';
import { startLimiter } from '../src/actors/limiter/limiter.js';
import { silentLogger } from '../src/observability/logger.js';
import { type BucketRef, LimiterState } from '../src/policy/limiter-state.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { fmt, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';
import { percentile } from './lib/stats.js';

const { values } = benchArgs('bench:limiter', 'The limiter actor (one process holds every limit; a reservation is one NATS round trip '
  + 'through a real nats-server on loopback) measured for round trip and throughput, one at a time and concurrently, against '
  + 'a reservation in process (what a quota-lease-holding gateway would spend instead). Prints a table and writes JSON to bench/results/.', {
  requests: { type: 'string', default: '20000', help: 'reservations (3 limits each) per measurement, concurrent and in process; the one-at-a-time run takes at most 5,000' },
  concurrency: { type: 'string', default: '64', help: 'reservations in flight at once in the concurrent run (and the 2,000-reservation warm-up)' },
});
const num = numberReader('bench:limiter', values);
const requests = num('requests', count);
const concurrency = num('concurrency', count);
const buckets: BucketRef[] = [
  { scope: 'model:demo/m', spec: '1000000000-M', counts: 'tokens' },
  { scope: 'tenant:acme', spec: '100000000-M', counts: 'tokens' },
  { scope: 'key:k', spec: '10000000-M', counts: 'requests' },
];

async function throughNats(limiterClient: LimiterClient, parallel: number, n: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      const id = `r${next++}`;
      const t0 = performance.now();
      const result = await limiterClient.reserve({ id, buckets, promptTokens: 100, completion: { wanted: 200, flexible: false } });
      latencies.push(performance.now() - t0);
      if (result === 'unavailable' || !result.ok) throw new Error(`reservation failed: ${JSON.stringify(result)}`);
      limiterClient.settle(id, 100, 150);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: n / seconds, p50: percentile(latencies, 50) * 1000, p99: percentile(latencies, 99) * 1000 };
}

function inProcess(n: number): { perSecond: number; p50: number; p99: number } {
  const state = new LimiterState();
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    state.reserve({ id: `r${i}`, buckets, promptTokens: 100, completion: { wanted: 200, flexible: false } }, Date.now());
    state.settle(`r${i}`, { promptTokens: 100, completionTokens: 150 });
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: n / seconds, p50: percentile(latencies, 50) * 1000, p99: percentile(latencies, 99) * 1000 };
}

say(`bench:limiter — ${requests} reservations (3 limits each), real nats-server on loopback`);
const nats = await startNatsServer();
const limiterTransport = await connectNats({ servers: nats.url, name: 'bench-limiter' });
const gatewayTransport = await connectNats({ servers: nats.url, name: 'bench-gateway' });
const limiter = await startLimiter({ transport: limiterTransport, log: silentLogger() });
const client = new LimiterClient(gatewayTransport, 5_000);
try {
  await throughNats(client, concurrency, 2_000); // warm-up
  const serial = await throughNats(client, 1, Math.min(requests, 5_000));
  const parallel = await throughNats(client, concurrency, requests);
  const local = inProcess(requests);
  const rows = [
    ['limiter actor over NATS, 1 at a time', serial],
    [`limiter actor over NATS, ${concurrency} in flight`, parallel],
    ['in process (what a lease holder spends)', local],
  ] as const;
  process.stdout.write(`\n${formatTable(['reservation path', 'per second', 'p50 µs', 'p99 µs'],
    rows.map(([name, r]) => [name, fmt(r.perSecond), fmt(r.p50, 1), fmt(r.p99, 1)]))}\n`);
  const file = writeResults('limiter', { machine: machineInfo(), requests, concurrency, serial, parallel, local });
  say(`\nresults written to ${file}`);
} finally {
  client.close();
  await limiter.stop();
  await gatewayTransport.close();
  await limiterTransport.close();
  await nats.stop();
}
