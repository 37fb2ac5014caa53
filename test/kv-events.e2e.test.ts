// KV events from engine to NATS, all real: a nats-server on random ports, the simulator with engine
// timing publishing vLLM's KV events on a ZeroMQ socket, and a worker told by its vLLM adapter where
// they are (--engine-option kv-events=tcp://…). The worker's batches on llmux.kv.<cluster>.<worker>
// must mirror what the engine published, begin with `cleared`, carry consecutive sequence numbers,
// say `cleared` again when the engine restarts, survive garbage from the engine, and not exist for an
// engine without events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../src/actors/worker/worker.js';
import { demoFunctionId, demoModel, demoVersionId } from '../src/control/demo-function.js';
import { decodeEventBatch, seqBytes } from '../src/kv-events/vllm-events.js';
import { bindPublisher } from '../src/kv-events/zmq-pub.js';
import { subscribe } from '../src/kv-events/zmq-sub.js';
import { runWorker } from '../src/launch/roles.js';
import { silentLogger } from '../src/observability/logger.js';
import type { KvCacheEvent, KvEventBatch } from '../src/protocol/kv-events.js';
import { startSim, type SimServer } from '../src/sim/sim-server.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import type { Transport } from '../src/transport/transport.js';
import { startTestStack, waitFor } from './support/stack.js';

const cluster = 'local';
let nats: NatsServerHandle;
let observer: Transport;
const batches: KvEventBatch[] = [];
const workers: Worker[] = [];
const sims: SimServer[] = [];

const engineSim = (kvEventsPort = 0, kvBlocks = 12): Promise<SimServer> =>
  startSim({ timing: 'engine', engine: { speedup: 1e6, kvBlocks }, kvEventsPort }).then((s) => (sims.push(s), s));

async function worker(workerId: string, engineUrl: string, settings?: Record<string, string>): Promise<Worker> {
  const w = await runWorker({
    natsUrl: nats.url, log: silentLogger(), engineKind: 'vllm', engineUrl, workerId, cluster,
    functionId: demoFunctionId, versionId: demoVersionId, model: demoModel, heartbeatMs: 250,
    ...(settings ? { engineSettings: settings } : {}),
  });
  workers.push(w);
  return w;
}

const words = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');
async function complete(sim: SimServer, prompt: string): Promise<void> {
  const res = await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: demoModel, prompt, max_tokens: 1 }) });
  expect(res.status).toBe(200);
  await res.text();
}

const of = (workerId: string): KvEventBatch[] => batches.filter((b) => b.workerId === workerId);
const eventsOf = (workerId: string): KvCacheEvent[] => of(workerId).flatMap((b) => b.events);

beforeAll(async () => {
  nats = await startNatsServer();
  observer = await connectNats({ servers: nats.url, name: 'observer' });
  observer.subscribe(subjects.kvEventsOf(cluster), (m) => void batches.push(m.body as KvEventBatch));
  await observer.flush();
});

afterAll(async () => {
  for (const w of workers.splice(0)) await w.stop().catch(() => undefined);
  for (const s of sims.splice(0)) await s.close();
  await observer?.close();
  await nats?.stop();
});

describe('KV events, engine → worker → NATS', () => {
  it('relays what the engine stores and evicts, after a first `cleared`, with consecutive sequence numbers', async () => {
    const sim = await engineSim();
    // What the engine publishes, heard directly: the truth the worker's batches must mirror.
    const engineEvents: KvCacheEvent[] = [];
    const direct = subscribe({ endpoint: sim.kvEvents!.endpoint, onMessage: (p) => void engineEvents.push(...decodeEventBatch(p[2] as Buffer).events) });
    await worker('w-kv', sim.url, { 'kv-events': sim.kvEvents!.endpoint, 'kv-events-topic': 'kv-events' });
    await waitFor(() => sim.kvEvents!.subscribers() === 2 && of('w-kv').length >= 1, 5000);
    expect(of('w-kv')[0]).toMatchObject({ type: 'kv-events', workerId: 'w-kv', model: demoModel, seq: 0, events: [{ type: 'cleared' }] });

    // 12 blocks: three 64-token prompts fill them, a fourth evicts the first's.
    for (const tag of ['a', 'b', 'c', 'd']) await complete(sim, words(64, tag));
    await waitFor(() => engineEvents.length >= 5 && eventsOf('w-kv').length === engineEvents.length + 1, 5000);
    expect(eventsOf('w-kv').slice(1)).toEqual(engineEvents);
    expect(engineEvents.filter((e) => e.type === 'removed').flatMap((e) => (e.type === 'removed' ? e.blocks : []))).toHaveLength(4);
    const stored = engineEvents[0];
    expect(stored).toMatchObject({ type: 'stored' });
    expect(stored?.type === 'stored' && stored.tokens).toHaveLength(64);
    expect(of('w-kv').map((b) => b.seq)).toEqual(of('w-kv').map((_, i) => i));
    expect(of('w-kv').every((b) => b.blockSize === 16)).toBe(true);
    direct.close();
  });

  it('says `cleared` when the engine restarts (its sequence starts again), then relays the new engine\'s blocks', async () => {
    const sim = sims[0]!;
    const endpoint = sim.kvEvents!.endpoint;
    const port = Number(endpoint.split(':').at(-1));
    await sim.close();
    const before = of('w-kv').length;
    const restarted = await engineSim(port);
    await waitFor(() => restarted.kvEvents!.subscribers() === 1, 10_000);
    await complete(restarted, words(40, 'r'));
    await waitFor(() => of('w-kv').length > before, 5000);
    const after = of('w-kv').slice(before);
    expect(after[0]?.events[0]).toEqual({ type: 'cleared' });
    expect(after.flatMap((b) => b.events).filter((e) => e.type === 'stored')).toHaveLength(1);
    expect(of('w-kv').map((b) => b.seq)).toEqual(of('w-kv').map((_, i) => i));
  });

  it('asks the engine\'s replay socket for lost batches instead of clearing, and clears when it cannot answer', async () => {
    const sim = await startSim({ timing: 'engine', engine: { speedup: 1e6, kvBlocks: 64 }, kvEventsPort: 0, kvEventsReplayPort: 0 }).then((s) => (sims.push(s), s));
    const kv = sim.kvEvents!;
    const replaying = await worker('w-replay', sim.url, { 'kv-events': kv.endpoint, 'kv-events-replay': kv.replayEndpoint! });
    const closed = await bindPublisher(); // a replay endpoint nobody answers: the port of a closed socket
    const port = closed.port;
    await closed.close();
    const clearing = await worker('w-noreplay', sim.url, { 'kv-events': kv.endpoint, 'kv-events-replay': `tcp://127.0.0.1:${port}` });
    await waitFor(() => kv.subscribers() === 2 && of('w-replay').length === 1 && of('w-noreplay').length === 1, 5000);
    await complete(sim, words(32, 'k0'));
    kv.dropNext();
    await complete(sim, words(32, 'k1')); // lost on the way to both workers
    kv.dropNext();
    await complete(sim, words(32, 'k2')); // lost too
    await complete(sim, words(32, 'k3'));
    const stored = (id: string): string[][] => eventsOf(id).flatMap((e) => (e.type === 'stored' ? [e.tokens.map(String)] : []));
    // The workers' counters move when they publish; the batches reach this test's subscription a moment later.
    await waitFor(() => replaying.stats().kvEvents?.replayed === 2 && eventsOf('w-noreplay').filter((e) => e.type === 'cleared').length === 2
      && stored('w-replay').length >= 4 && stored('w-noreplay').length >= 2, 5000);
    expect(eventsOf('w-replay').filter((e) => e.type === 'cleared')).toHaveLength(1); // only the first
    expect(stored('w-replay')).toHaveLength(4);
    expect(stored('w-noreplay')).toHaveLength(2); // k0, then k3 after its `cleared`
    expect(replaying.stats().kvEvents).toMatchObject({ gaps: 1, replayed: 2 });
    expect(clearing.stats().kvEvents).toMatchObject({ gaps: 1, replayed: 0 });
    expect(of('w-replay').map((b) => b.seq)).toEqual(of('w-replay').map((_, i) => i));
  });

  it('drops garbage from the engine without crashing, and relays the valid messages around it', async () => {
    const fake = await bindPublisher();
    const idle = await engineSim(); // only its HTTP health matters: the events come from `fake`
    const hostile = await worker('w-hostile', idle.url, { 'kv-events': `tcp://127.0.0.1:${fake.port}` });
    await waitFor(() => fake.subscribed === 1 && of('w-hostile').length === 1, 5000);
    const topic = Buffer.from('kv-events');
    fake.send([topic, seqBytes(0n), Buffer.from([0xc1, 0xff, 0x00])]); // not msgpack
    fake.send([topic, Buffer.from('short'), Buffer.from([])]); // not an 8-byte sequence number
    fake.send([topic]); // one part
    fake.send([topic, seqBytes(1n), Buffer.from(JSON.stringify({ ts: 1, events: [['BlockStored', [1], null, [1, 2, 3], 16, null, null]] }))]);
    const valid = (await import('../src/kv-events/vllm-events.js')).encodeEventBatch(1.5, [{ type: 'BlockRemoved', blockHashes: [7n] }]);
    fake.send([topic, seqBytes(2n), valid]);
    await waitFor(() => of('w-hostile').length === 2, 5000);
    expect(of('w-hostile')[1]?.events).toEqual([{ type: 'removed', blocks: ['7'] }]);
    expect(hostile.stats().kvEvents).toEqual({ received: 5, published: 2, malformed: 4, gaps: 0, replayed: 0 });
    await fake.close();
  });

  it('publishes nothing for an engine that publishes no events', async () => {
    const plain = await startSim({ timing: 'engine', engine: { speedup: 1e6 } }).then((s) => (sims.push(s), s));
    await worker('w-plain', plain.url);
    await complete(plain, words(64, 'p'));
    await new Promise((r) => setTimeout(r, 500));
    expect(of('w-plain')).toEqual([]);
  });
});

describe('KV events with NATS identities', () => {
  it('lets a worker publish its own KV events under its worker identity', async () => {
    const stack = await startTestStack({ workers: 1, routers: 1 });
    let control: Transport | undefined;
    let w: Worker | undefined;
    const seen: KvEventBatch[] = [];
    try {
      control = await connectNats({ servers: stack.natsUrl, name: 'kv-observer', nkeySeed: stack.natsCredentials.nkeySeed as string });
      control.subscribe(subjects.kvEventsOf(cluster), (m) => void seen.push(m.body as KvEventBatch));
      await control.flush();
      const sim = await engineSim();
      const { nkeySeed } = await stack.addWorkerIdentity('w-auth', { functionId: demoFunctionId, versionId: demoVersionId, model: demoModel });
      w = await runWorker({
        natsUrl: stack.natsUrl, nkeySeed, log: silentLogger(), engineKind: 'vllm', engineUrl: sim.url, workerId: 'w-auth', cluster,
        functionId: demoFunctionId, versionId: demoVersionId, model: demoModel, heartbeatMs: 250, engineSettings: { 'kv-events': sim.kvEvents!.endpoint },
      });
      await waitFor(() => sim.kvEvents!.subscribers() === 1, 5000);
      await complete(sim, words(32, 'auth'));
      await waitFor(() => seen.some((b) => b.workerId === 'w-auth' && b.events.some((e) => e.type === 'stored')), 5000);
    } finally {
      await w?.stop().catch(() => undefined);
      await control?.close();
      await stack.stop();
    }
  });
});
