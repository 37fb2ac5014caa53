// 503 semantics and worker liveness on a real nats-server: a known model nobody serves, a stack
// with no router, and a worker process killed without a goodbye.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFunctionId, demoVersionId } from '../src/control/demo-function.js';
import { EngineNotReadyError } from '../src/actors/worker/engine-readiness.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { runWorker } from '../src/launch/roles.js';
import { newIdentity } from '../src/transport/nats/nats-credentials.js';
import { silentLogger } from '../src/observability/logger.js';
import { clientFor, startTestStack, waitFor } from './support/stack.js';

let stack: LocalStack;
let client: OpenAI;
const model = 'demo/llmux-sim-8b';
const simAborted = (): number => stack.sims.reduce((n, s) => n + s.stats().aborted, 0);

beforeAll(async () => {
  stack = await startTestStack({ workers: 1, heartbeatMs: 200 });
  client = clientFor(stack);
});

afterAll(async () => {
  await stack?.stop();
});

describe('availability - no active backend and dead workers', () => {
  it('answers 503 no_active_backend with retry-after for a known model no worker serves', async () => {
    await stack.gateway.catalog.putVersion({
      functionId: demoFunctionId, versionId: 'v2', createdAt: new Date().toISOString(),
      models: [{ name: 'unserved-model', llmConfig: {} }],
    });
    await waitFor(() => stack.router.table !== undefined && stack.gateway.catalog.resolve(demoFunctionId, 'unserved-model') !== undefined, 2000);
    const res = await client.chat.completions
      .create({ model: `${demoFunctionId}/unserved-model`, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
      .catch((e: unknown) => e);
    expect(res).toBeInstanceOf(OpenAI.APIError);
    const error = res as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(503);
    expect(error.code).toBe('no_active_backend');
    expect(error.headers?.get('retry-after')).toBe('1');
  });

  it('removes a killed worker from the table within three heartbeat intervals', async () => {
    const heartbeatMs = 400;
    // The stack's nats-server admits only known identities: mint one for this worker (a live reload).
    const seedFile = join(mkdtempSync(join(tmpdir(), 'llmux-seed-')), 'doomed-worker.seed');
    writeFileSync(seedFile, (await stack.addWorkerIdentity('doomed-worker')).nkeySeed, { mode: 0o600 });
    const child = spawn(process.execPath, [
      'bin/llmux.js', 'worker', '--nats', stack.natsUrl, '--nkey-seed-file', seedFile, '--engine-url', stack.sims[0]!.url, '--function', demoFunctionId,
      '--function-version', demoVersionId, '--model', 'llmux-sim-8b', '--id', 'doomed-worker', '--heartbeat-ms', String(heartbeatMs),
    ], { stdio: 'ignore', env: { ...process.env, LLMUX_LOG_LEVEL: 'silent' } });
    try {
      await waitFor(() => stack.router.table.get('doomed-worker') !== undefined, 10_000);
    } finally {
      child.kill('SIGKILL');
    }
    const killedAt = Date.now();
    await waitFor(() => stack.router.table.get('doomed-worker') === undefined, 3 * heartbeatMs + 500);
    const goneAfter = Date.now() - killedAt;
    // Three intervals from death; the poll adds at most its own 20 ms period.
    expect(goneAfter).toBeLessThanOrEqual(3 * heartbeatMs + 40);
    expect(stack.router.table.size).toBe(1);
  });

  it('refuses to register a worker whose engine never becomes healthy, saying which', async () => {
    const error = await runWorker({
      natsUrl: stack.natsUrl, log: silentLogger(), engineKind: 'vllm', engineUrl: 'http://127.0.0.1:1', functionId: demoFunctionId,
      versionId: demoVersionId, model: 'llmux-sim-8b', workerId: 'engine-less', engineWaitMs: 300,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineNotReadyError);
    expect((error as EngineNotReadyError).code).toBe('engine_not_ready');
    expect((error as Error).message).toContain('http://127.0.0.1:1');
    expect(stack.router.table.get('engine-less')).toBeUndefined();
  });

  it('does not let a worker without a valid NATS identity connect, so it never registers', async () => {
    const error = await runWorker({
      natsUrl: stack.natsUrl, nkeySeed: newIdentity().seed, log: silentLogger(), engineKind: 'vllm', engineUrl: stack.sims[0]!.url,
      functionId: demoFunctionId, versionId: demoVersionId, model: 'llmux-sim-8b', workerId: 'intruder', engineWaitMs: 2_000,
    }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/Authorization Violation/i);
    const anonymous = await runWorker({
      natsUrl: stack.natsUrl, log: silentLogger(), engineKind: 'vllm', engineUrl: stack.sims[0]!.url,
      functionId: demoFunctionId, versionId: demoVersionId, model: 'llmux-sim-8b', workerId: 'no-identity', engineWaitMs: 2_000,
    }).catch((e: unknown) => e);
    expect(String(anonymous)).toMatch(/Authorization Violation/i);
    // A real identity used under another worker's id: the server refuses its subjects, and the worker says so.
    const { nkeySeed } = await stack.addWorkerIdentity('legit-worker');
    const impostor = await runWorker({
      natsUrl: stack.natsUrl, nkeySeed, log: silentLogger(), engineKind: 'vllm', engineUrl: stack.sims[0]!.url,
      functionId: demoFunctionId, versionId: demoVersionId, model: 'llmux-sim-8b', workerId: 'someone-else', engineWaitMs: 2_000,
    }).catch((e: unknown) => e);
    expect(String(impostor)).toContain("NATS refused worker 'someone-else'");
    expect(String(impostor)).toContain('Permissions Violation');
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.router.table.get('someone-else')).toBeUndefined();
    expect(stack.router.table.get('intruder')).toBeUndefined();
    expect(stack.router.table.get('no-identity')).toBeUndefined();
  });

  it('reports ready only while its NATS connection is up', async () => {
    const res = await fetch(`${stack.gatewayUrl}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });

  it('cancels only the aborted request when two requests on one worker share a client-chosen x-request-id', async () => {
    const abortedBefore = simAborted();
    const headers = { 'x-request-id': 'same-id' };
    const controller = new AbortController();
    expect(stack.workers).toHaveLength(1);
    const doomed = await client.chat.completions.create(
      { model, stream: true, max_tokens: 2000, messages: [{ role: 'user', content: 'first' }] },
      { signal: controller.signal, headers },
    );
    const survivor = await client.chat.completions.create(
      { model, stream: true, max_tokens: 300, messages: [{ role: 'user', content: 'second' }] }, { headers },
    );
    let doomedChunks = 0;
    await (async () => {
      for await (const _ of doomed) if (++doomedChunks === 2) controller.abort();
    })().catch(() => undefined);
    let text = '';
    for await (const chunk of survivor) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.split(' ')).toHaveLength(300);
    await waitFor(() => simAborted() > abortedBefore, 1000);
    expect(simAborted()).toBe(abortedBefore + 1);
  });

  it('answers 503 when no router is running', async () => {
    await stack.router.stop();
    const error = await client.chat.completions
      .create({ model: stack.models[0] as string, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('no_active_backend');
  });
});

describe('availability - NATS going away', () => {
  it('reports not ready while NATS is down, and stops cleanly', async () => {
    const own = await startTestStack({ workers: 1 });
    try {
      expect((await fetch(`${own.gatewayUrl}/ready`)).status).toBe(200);
      await own.nats!.stop();
      await waitFor(async () => (await fetch(`${own.gatewayUrl}/ready`)).status === 503, 5000);
      expect(await (await fetch(`${own.gatewayUrl}/ready`)).json()).toEqual({ status: 'nats-disconnected' });
      expect((await fetch(`${own.gatewayUrl}/health`)).status).toBe(200);
    } finally {
      const started = Date.now();
      await own.stop();
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });
});
