// Routing across clusters on one real nats-server with two cluster labels, "a" and "b": a router, two
// workers and their engine simulators in each, a gateway in "a". Each worker has its own NATS identity,
// made for its cluster. One server has no NATS gateways to keep a's requests on a's routers, so b's
// router takes only what is spilled to it (takeGatewayRequests: false), as a supercluster would do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFunctionId, demoModel, demoVersionId, registerDemoFunction } from '../src/control/demo-function.js';
import type { Locality } from '../src/control/function.schema.js';
import type { Router } from '../src/actors/router/router.js';
import type { Worker } from '../src/actors/worker/worker.js';
import { type RunningGateway, runGateway, runLimiter, runRouter, runWorker, type Stoppable } from '../src/launch/roles.js';
import { silentLogger } from '../src/observability/logger.js';
import { startSim } from '../src/sim/sim-server.js';
import { createTokenCounter } from '../src/tokenize/index.js';
import { authorizationConfig, newIdentity } from '../src/transport/nats/nats-credentials.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import type { Transport } from '../src/transport/transport.js';
import { waitFor } from './support/stack.js';

const apiKey = 'sk-locality-test';
const adminKey = 'locality-admin-key';
const log = silentLogger();
const control = newIdentity();
const workerIds = { a: ['a-1', 'a-2'], b: ['b-1', 'b-2'] } as const;
const identities = [...workerIds.a.map((id) => ({ workerId: id, cluster: 'a' })), ...workerIds.b.map((id) => ({ workerId: id, cluster: 'b' }))]
  .map((w) => ({ ...w, identity: newIdentity() }));

let nats: NatsServerHandle;
const tokens = createTokenCounter();
const started: Stoppable[] = [];
let routerA: Router;
let routerB: Router;
let gateway: RunningGateway;
const workers = new Map<string, Worker>();
let spy: Transport;

beforeAll(async () => {
  nats = await startNatsServer({ config: authorizationConfig(control, identities) });
  const common = { natsUrl: nats.url, log, nkeySeed: control.seed, requireWorkerBinding: false, summaryIntervalMs: 250 };
  routerA = await runRouter({ ...common, cluster: 'a', routerId: 'router-a' });
  routerB = await runRouter({ ...common, cluster: 'b', routerId: 'router-b', takeGatewayRequests: false });
  started.push(routerA, routerB);
  for (const { workerId, cluster, identity } of identities) {
    const sim = await startSim({ models: [demoModel] });
    started.push(sim);
    const worker = await runWorker({ natsUrl: nats.url, nkeySeed: identity.seed, log, engineKind: 'vllm', engineUrl: sim.url, tokens,
      workerId, cluster, functionId: demoFunctionId, versionId: demoVersionId, model: demoModel, capacity: 8, heartbeatMs: 250 });
    workers.set(workerId, worker);
  }
  const limiter = await runLimiter({ natsUrl: nats.url, log, nkeySeed: control.seed });
  gateway = await runGateway({ natsUrl: nats.url, log, nkeySeed: control.seed, cluster: 'a', host: '127.0.0.1', port: 0, apiKeys: [apiKey], adminKey, tokens });
  started.push(limiter, gateway);
  await registerDemoFunction(gateway.catalog);
  spy = await connectNats({ servers: nats.url, name: 'spy', nkeySeed: control.seed });
  await waitFor(() => [routerA, routerB].every((r) => r.table.size === 2 && r.catalog.resolve(demoFunctionId, demoModel) !== undefined), 10_000);
  await waitFor(() => routerA.clusters.candidates(demoFunctionId, demoModel, Date.now()).some((c) => c.cluster === 'b' && c.free > 0), 5_000);
});

afterAll(async () => {
  await spy?.close();
  for (const w of workers.values()) await w.stop().catch(() => undefined);
  for (const s of started.reverse()) await s.stop().catch(() => undefined);
  await tokens.close();
  await nats?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function chat(requestId: string): Promise<Answer> {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST', signal: AbortSignal.timeout(10_000),
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'x-llmux-debug': '1', 'x-request-id': requestId },
    body: JSON.stringify({ model: `${demoFunctionId}/${demoModel}`, max_tokens: 4, messages: [{ role: 'user', content: 'hello' }] }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function decisions(requestId: string): Promise<any[]> {
  const res = await fetch(`${gateway.url}/admin/api/decisions/${requestId}`, { headers: { authorization: `Bearer ${adminKey}` }, signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { decisions: any[] }).decisions;
}

async function setLocality(locality: Locality): Promise<void> {
  await gateway.catalog.putVersion({ ...gateway.catalog.getVersion(demoFunctionId, demoVersionId)!,
    models: [{ name: demoModel, llmConfig: { ...gateway.catalog.resolve(demoFunctionId, demoModel)!.model.llmConfig, locality } }] });
  await waitFor(() => [routerA, routerB].every((r) => (r.catalog.resolve(demoFunctionId, demoModel)?.model.llmConfig.locality ?? 'prefer') === locality), 5_000);
}

describe('locality - two clusters on one nats-server', () => {
  it("serves requests at a's gateway with a's workers while they have room, and records every candidate's cluster", async () => {
    for (let i = 0; i < 6; i++) {
      const answer = await chat(`local-${i}`);
      expect(answer.status).toBe(200);
      expect(workerIds.a).toContain(answer.headers.get('x-llmux-worker'));
    }
    const [record, ...more] = await decisions('local-3');
    expect(more).toEqual([]);
    expect(record).toMatchObject({ routerId: 'router-a', cluster: 'a', locality: 'prefer', outcome: 'dispatched' });
    expect(record.spill).toBeUndefined();
    expect(record.candidates.map((c: { workerId: string; cluster: string }) => [c.workerId, c.cluster]).sort()).toEqual([['a-1', 'a'], ['a-2', 'a']]);
    expect(routerB.stats().spilledIn).toBe(0);
  });

  it("keeps registry traffic in its cluster: a's router hears none of b's heartbeats, only b's summaries", async () => {
    const heard = { a: 0, b: 0 };
    const subs = (['a', 'b'] as const).map((c) => spy.subscribe(subjects.registryOf(c), () => void heard[c]++));
    await spy.flush();
    const before = routerA.stats();
    await new Promise((r) => setTimeout(r, 1_500));
    const after = routerA.stats();
    for (const s of subs) s.unsubscribe();
    // Two workers of b heartbeat every 250 ms: about 12 in the window, none of which reached a's router.
    expect(heard.b).toBeGreaterThanOrEqual(8);
    expect(after.registryMessages - before.registryMessages).toBeLessThanOrEqual(heard.a + 2);
    expect(after.registryMessages - before.registryMessages).toBeGreaterThan(0);
    expect(routerA.table.all().map((w) => w.descriptor.cluster)).toEqual(['a', 'a']);
    // b's router summarises its cluster every 250 ms instead.
    expect(after.summaries - before.summaries).toBeGreaterThanOrEqual(3);
    expect(after.summaries - before.summaries).toBeLessThanOrEqual(8);
  });

  it("spills to b once a's workers drain, and again once they are gone: b's workers answer, both records name the clusters", async () => {
    for (const id of workerIds.a) workers.get(id)!.drain();
    await waitFor(() => routerA.table.all().every((w) => w.load.state === 'draining'), 2_000);
    const drained = await chat('spill-draining');
    expect(drained.status).toBe(200);
    expect(workerIds.b).toContain(drained.headers.get('x-llmux-worker'));
    const records = await decisions('spill-draining');
    const fromA = records.find((r) => r.cluster === 'a');
    const inB = records.find((r) => r.cluster === 'b');
    expect(fromA).toMatchObject({ routerId: 'router-a', outcome: 'spilled', spill: { cluster: 'b', reason: 'local-draining' }, locality: 'prefer' });
    expect(fromA.candidates.map((c: { cluster: string; excluded: string }) => [c.cluster, c.excluded])).toEqual([['a', 'draining'], ['a', 'draining']]);
    expect(fromA.remoteCandidates).toEqual([expect.objectContaining({ cluster: 'b', workers: 2, ready: 2, capacity: 16, free: expect.any(Number) })]);
    expect(inB).toMatchObject({ routerId: 'router-b', outcome: 'dispatched', spilledFrom: 'a', locality: 'strict', winner: drained.headers.get('x-llmux-worker') });
    expect(inB.candidates.every((c: { cluster: string }) => c.cluster === 'b')).toBe(true);

    for (const id of workerIds.a) await workers.get(id)!.stop();
    await waitFor(() => routerA.table.size === 0, 2_000);
    for (let i = 0; i < 4; i++) {
      const answer = await chat(`spill-absent-${i}`);
      expect(answer.status).toBe(200);
      expect(workerIds.b).toContain(answer.headers.get('x-llmux-worker'));
    }
    expect((await decisions('spill-absent-0')).find((r) => r.cluster === 'a')).toMatchObject({ outcome: 'spilled', spill: { cluster: 'b', reason: 'local-absent' }, candidates: [] });
    expect(routerB.stats().spilledOut).toBe(0);
  });

  it('answers a strict model with a retryable 503 rather than leave the cluster', async () => {
    await setLocality('strict');
    const spilledBefore = routerA.stats().spilledOut;
    const answer = await chat('strict-1');
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('no_active_backend');
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(routerA.stats().spilledOut).toBe(spilledBefore);
    const [record, ...more] = await decisions('strict-1');
    expect(more).toEqual([]);
    expect(record).toMatchObject({ cluster: 'a', locality: 'strict', outcome: 'no_active_backend' });
    expect(record.remoteCandidates).toBeUndefined();
    await setLocality('prefer');
    expect((await chat('prefer-again')).status).toBe(200);
  });
});
