// A worker whose own process stalls (a long GC, a starved CPU) while its gateway, in another
// process, keeps leasing through a real nats-server: when the stall ends, the leases waiting in
// the socket are read before the lease check runs, so no held request is taken for orphaned. A
// timer fires before the event loop reads its sockets; judged in that turn, every lease looked
// older than the stall.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentEngine } from './support/silent-engine.js';
import { workerDescriptor } from '../src/actors/router/router-test-support.js';
import { startWorker, type Worker } from '../src/actors/worker/worker.js';
import type { InferRequest } from '../src/actors/worker/worker.protocol.js';
import { silentLogger } from '../src/observability/logger.js';
import { createTokenCounter } from '../src/tokenize/index.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { connectNats, type NatsTransport } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import { waitFor } from './support/stack.js';

const tokens = createTokenCounter();
let nats: NatsServerHandle;
let transport: NatsTransport;
let worker: Worker;
let leaser: ChildProcess | undefined;
let release = (): void => undefined;

const engine = silentEngine((r) => (release = r));

beforeAll(async () => {
  nats = await startNatsServer();
  transport = await connectNats({ servers: nats.url, name: 'worker' });
  worker = await startWorker({ transport, engine, tokens, log: silentLogger(), keepaliveMs: 100, leaseTimeoutMs: 1_000,
    descriptor: workerDescriptor('w-stall', { engineKind: 'silent', capacity: 4, heartbeatMs: 1_000 }) });
});

afterAll(async () => {
  leaser?.kill('SIGKILL');
  release();
  await waitFor(() => worker.inFlight() === 0, 5_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 50));
  await worker?.stop().catch(() => undefined);
  await transport?.close();
  await nats?.stop();
  await tokens.close();
});

describe('worker lease check after a stall of its own process', () => {
  it('reads the leases that arrived during a 2.5 s stall before judging them (lease timeout 1 s): nothing is aborted', async () => {
    const reply = `${transport.newInboxPrefix()}.1`;
    // The gateway's part, in a process of its own so that the stall does not stop it: a lease every 100 ms.
    const transportModule = new URL('../dist/src/transport/nats/nats-transport.js', import.meta.url).href;
    leaser = spawn(process.execPath, ['--input-type=module', '-e', `
      const { connectNats } = await import(${JSON.stringify(transportModule)});
      const t = await connectNats({ servers: ${JSON.stringify(nats.url)}, name: 'leaser' });
      setInterval(() => t.publish(${JSON.stringify(subjects.workerLease('w-stall'))}, { type: 'lease', replies: [${JSON.stringify(reply)}] }), 100);
      console.log('leasing');
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => leaser!.stdout!.once('data', () => resolve()));
    const request: InferRequest = {
      type: 'infer', requestId: 'r-stall', functionId: 'fn', model: 'm', operation: 'chat', stream: true,
      body: { messages: [] }, exclude: [], tokenizer: 'o200k', promptTokens: 5, routing: { tokens: 10, attempt: 1 },
    };
    transport.publish(subjects.workerInfer('w-stall'), request, { reply });
    await waitFor(() => worker.inFlight() === 1, 5_000);
    await new Promise((r) => setTimeout(r, 500));
    // The stall: this process runs nothing else for 2.5 s, while the leases pile up in its socket.
    const until = Date.now() + 2_500;
    while (Date.now() < until) { /* stalled */ }
    await new Promise((r) => setTimeout(r, 500));
    expect(worker.stats().orphanedAborts).toBe(0);
    expect(worker.inFlight()).toBe(1);
  });
});
