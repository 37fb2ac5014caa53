/**
 * `node dist/bench/kv-events.js [--messages 200000]`: how fast llmux's own ZeroMQ SUB socket takes
 * and decodes vLLM KV event batches (docs/decisions/0003-zmq-client.md), over loopback TCP from its
 * own PUB socket, and how fast the payload decoder runs alone. The payload is one BlockStored of 4
 * blocks of 16 tokens (217 bytes), the size of a small engine step's events. vLLM publishes at most
 * one batch per engine step (100–200 a second); the figures say how far above that the client is.
 */
import { decodeEventBatch, encodeEventBatch, seqBytes } from '../src/kv-events/vllm-events.js';
import { bindPublisher } from '../src/kv-events/zmq-pub.js';
import { subscribe } from '../src/kv-events/zmq-sub.js';
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { machineInfo, progress, writeResults } from './lib/report.js';

const { values } = benchArgs('bench:kv-events', "How fast llmux's own ZeroMQ SUB socket takes and decodes vLLM KV event "
  + 'batches from its own PUB socket over loopback TCP, and how fast the payload decoder runs alone; the payload is one '
  + 'BlockStored of 4 blocks of 16 tokens (217 bytes). Progress on stderr, JSON in bench/results/.', {
  messages: { type: 'string', default: '200000', help: 'event batches decoded alone, then sent PUB -> SUB' },
});
const num = numberReader('bench:kv-events', values);
const n = num('messages', count);
const payload = encodeEventBatch(1767225600.5, [{ type: 'BlockStored', blockHashes: [1n, 2n, 3n, 2n ** 64n - 5n], parent: 99n, tokenIds: Array.from({ length: 64 }, (_, i) => i), blockSize: 16 }]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let t0 = performance.now();
for (let i = 0; i < n; i++) decodeEventBatch(payload);
const decodePerS = n / ((performance.now() - t0) / 1000);
progress(`decode only: ${Math.round(decodePerS)} batches/s`);

const pub = await bindPublisher({ highWaterBytes: 1 << 30 });
let received = 0;
const sub = subscribe({ endpoint: `tcp://127.0.0.1:${pub.port}`, onMessage: (parts) => {
  decodeEventBatch(parts[2] as Buffer);
  received++;
} });
for (const end = Date.now() + 5000; pub.subscribed < 1;) {
  if (Date.now() > end) throw new Error('the subscriber did not subscribe within 5 s');
  await sleep(5);
}
const topic = Buffer.from('kv-events');
t0 = performance.now();
for (let i = 0; i < n; i++) {
  pub.send([topic, seqBytes(BigInt(i)), payload]);
  if (i % 1000 === 999) await new Promise((r) => setImmediate(r)); // let the socket drain, as a real publisher's pace would
}
for (const end = Date.now() + 60_000; received < n && Date.now() < end;) await sleep(2);
const pubSubPerS = received / ((performance.now() - t0) / 1000);
progress(`PUB -> SUB, decoded: ${received}/${n} messages, ${Math.round(pubSubPerS)} messages/s`);
sub.close();
await pub.close();
progress(`results written to ${writeResults('kv-events', { machine: machineInfo(), payloadBytes: payload.length, messages: n, received, decodePerS, pubSubPerS })}`);
