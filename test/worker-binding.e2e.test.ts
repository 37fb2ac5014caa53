// What a worker identity may serve is bound to it (issue 12): with real worker nkey identities on a
// real nats-server, a worker registering for a function, version or model outside its binding
// (`workers.<id>` in the control KV) is refused by every router and never gets a prompt; one inside
// it is let in; a binding changed live applies at the next heartbeat. Without NATS auth there are no
// identities to bind: unbound workers are let in, and a binding that exists still applies.
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFunctionId, demoModel, demoVersionId } from '../src/control/demo-function.js';
import { controlBucket } from '../src/control/function-catalog.js';
import { type WorkerBinding, WorkerBindings } from '../src/control/worker-bindings.js';
import type { Router } from '../src/actors/router/router.js';
import type { Worker } from '../src/actors/worker/worker.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { runWorker } from '../src/launch/roles.js';
import { silentLogger } from '../src/observability/logger.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import type { Transport } from '../src/transport/transport.js';
import { clientFor, startTestStack, waitFor } from './support/stack.js';

const heartbeatMs = 250;
const secretFunction = 'secret';
const demo: WorkerBinding = { functionId: demoFunctionId, versionId: demoVersionId, model: demoModel };

/** A logger whose JSON lines a test can read. */
function collectingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }), lines };
}

/** Watches every router's table closely for three heartbeat intervals: whether `workerId` was ever in one. */
async function everInTable(routers: Router[], workerId: string): Promise<boolean> {
  let seen = false;
  for (const until = Date.now() + 3 * heartbeatMs; Date.now() < until;) {
    seen ||= routers.some((r) => r.table.get(workerId) !== undefined);
    await new Promise((r) => setTimeout(r, 2));
  }
  return seen;
}

const workers: Worker[] = [];
async function startWorker(stack: LocalStack, workerId: string, nkeySeed: string | undefined, serves: { functionId?: string; versionId?: string; model?: string } = {}): Promise<Worker> {
  const worker = await runWorker({
    natsUrl: stack.natsUrl, ...(nkeySeed ? { nkeySeed } : {}), log: silentLogger(), engineKind: 'vllm', engineUrl: stack.sims[0]!.url,
    workerId, functionId: serves.functionId ?? demoFunctionId, versionId: serves.versionId ?? demoVersionId, model: serves.model ?? demoModel, heartbeatMs,
  });
  workers.push(worker);
  return worker;
}

describe('worker bindings - where the stack issues worker identities (fail closed)', () => {
  let stack: LocalStack;
  let control: Transport;
  /** The issuer's own view, on its own connection: routers see its writes only through their watch. */
  let issuer: WorkerBindings;
  const routerLog = collectingLogger();

  beforeAll(async () => {
    stack = await startTestStack({ workers: 1, routers: 2, heartbeatMs, log: routerLog.log });
    control = await connectNats({ servers: stack.natsUrl, name: 'issuer', nkeySeed: stack.natsCredentials.nkeySeed as string });
    issuer = new WorkerBindings(await control.keyValue(controlBucket));
    // A second function on the same model: a worker that may serve only `demo` must never get its prompts.
    const now = new Date().toISOString();
    await stack.gateway.catalog.putFunction({ id: secretFunction, name: 'secret', functionType: 'LLM', createdAt: now });
    await stack.gateway.catalog.putVersion({ functionId: secretFunction, versionId: 'v1', createdAt: now,
      models: [{ name: demoModel, llmConfig: { uris: ['/v1/chat/completions'], routingMethod: 'least-busy', tokenizer: 'o200k' } }] });
    await waitFor(() => stack.routers.every((r) => r.catalog.resolve(secretFunction, demoModel) !== undefined), 5_000);
  });
  afterAll(async () => {
    for (const w of workers.splice(0)) await w.stop().catch(() => undefined);
    await control?.close();
    await stack?.stop();
  });

  it('refuses a worker bound to one function registering for another: never in a table, never given its prompts', async () => {
    const { nkeySeed } = await stack.addWorkerIdentity('w-rogue', demo);
    const prompts: string[] = [];
    const tap = control.subscribe(subjects.workerInfer('w-rogue'), (m) => void prompts.push(m.subject));
    await startWorker(stack, 'w-rogue', nkeySeed, { functionId: secretFunction, versionId: 'v1' });
    expect(await everInTable(stack.routers, 'w-rogue'), 'the rogue worker entered a router table').toBe(false);
    const error = await clientFor(stack).chat.completions.create({ model: `${secretFunction}/${demoModel}`, max_tokens: 4, messages: [{ role: 'user', content: 'the secret prompt' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('no_active_backend');
    await control.flush();
    tap.unsubscribe();
    expect(prompts).toEqual([]);
    // Each router says why, once (not at every heartbeat).
    const refusals = routerLog.lines.filter((l) => l.includes("refused worker 'w-rogue'"));
    expect(refusals).toHaveLength(stack.routers.length);
    expect(refusals[0]).toContain(`it is bound to function '${demoFunctionId}', not '${secretFunction}'`);
  });

  it('refuses a version or a model outside the binding, and lets in the one inside it', async () => {
    const { nkeySeed: otherModel } = await stack.addWorkerIdentity('w-model', { ...demo, model: 'some-other-model' });
    await startWorker(stack, 'w-model', otherModel);
    const { nkeySeed: otherVersion } = await stack.addWorkerIdentity('w-version', demo);
    await startWorker(stack, 'w-version', otherVersion, { versionId: 'v2' });
    const { nkeySeed: honest } = await stack.addWorkerIdentity('w-honest', { functionId: demoFunctionId, versionId: '*', model: '*' });
    await startWorker(stack, 'w-honest', honest);
    expect(await everInTable(stack.routers, 'w-model'), 'a worker for another model entered a table').toBe(false);
    expect(await everInTable(stack.routers, 'w-version'), 'a worker for another version entered a table').toBe(false);
    for (const r of stack.routers) expect(r.table.get('w-honest')?.descriptor.functionId).toBe(demoFunctionId);
    // The stack's own workers are bound to what they serve, and let in.
    const own = stack.workers[0]!.descriptor.workerId;
    for (const r of stack.routers) {
      expect(r.bindings.get(own)).toMatchObject(demo);
      expect(r.table.get(own)).toBeDefined();
    }
  });

  it('refuses a worker identity that has no binding at all', async () => {
    const { nkeySeed } = await stack.addWorkerIdentity('w-unbound', null);
    await startWorker(stack, 'w-unbound', nkeySeed);
    expect(await everInTable(stack.routers, 'w-unbound'), 'an unbound worker entered a table').toBe(false);
    expect(routerLog.lines.some((l) => l.includes("refused worker 'w-unbound'") && l.includes('has no binding'))).toBe(true);
  });

  it('applies a binding changed live at the next heartbeat: out of the table, and back in', async () => {
    const { nkeySeed } = await stack.addWorkerIdentity('w-live', demo);
    await startWorker(stack, 'w-live', nkeySeed);
    await waitFor(() => stack.routers.every((r) => r.table.get('w-live') !== undefined), 2_000);
    await issuer.put('w-live', { ...demo, functionId: secretFunction });
    // Well before the three missed heartbeats after which a silent worker expires.
    await waitFor(() => stack.routers.every((r) => r.table.get('w-live') === undefined), 2 * heartbeatMs + 200);
    expect(routerLog.lines.some((l) => l.includes("removed worker 'w-live'"))).toBe(true);
    await issuer.delete('w-live');
    expect(await everInTable(stack.routers, 'w-live'), 'a worker whose binding was removed came back').toBe(false);
    await issuer.put('w-live', demo);
    await waitFor(() => stack.routers.every((r) => r.table.get('w-live') !== undefined), 2 * heartbeatMs + 200);
  });
});

describe('worker bindings - without NATS auth (no identities to bind)', () => {
  let nats: NatsServerHandle;
  let stack: LocalStack;

  beforeAll(async () => {
    nats = await startNatsServer({});
    stack = await startTestStack({ natsUrl: nats.url, workers: 1, heartbeatMs });
  });
  afterAll(async () => {
    for (const w of workers.splice(0)) await w.stop().catch(() => undefined);
    await stack?.stop();
    await nats?.stop();
  });

  it('lets in a worker without a binding, and still enforces a binding that exists', async () => {
    await startWorker(stack, 'w-open', undefined);
    await waitFor(() => stack.router.table.get('w-open') !== undefined, 2_000);
    await stack.router.bindings.put('w-open', { ...demo, functionId: secretFunction });
    await waitFor(() => stack.router.table.get('w-open') === undefined, 2 * heartbeatMs + 200);
  });
});
