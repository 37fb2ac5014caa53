// Actors on worker threads: `llmux up --threads 3` puts the workers and their simulators on two
// worker threads, each worker with its own NATS connection there (real nats-server, real HTTP).
// Requests are served by both threads' workers, the gateway's /metrics merges the threads' worker
// metrics, a thread that dies is restarted by its host and its workers register again, and stop
// ends every thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { clientFor, startTestStack, waitFor } from './support/stack.js';
import { HostedThread } from '../src/actors/runtime/thread-host.js';
import { compiledFile } from '../src/os/compiled-file.js';
import { silentLogger } from '../src/observability/logger.js';
import type { ThreadPlan } from '../src/launch/thread-entry.js';

let stack: LocalStack;

beforeAll(async () => {
  // Round-robin: one request after another reaches every worker (least-busy may keep choosing the same idle one).
  stack = await startTestStack({ workers: 3, threads: 3, heartbeatMs: 250, sim: { itlMs: 1 }, llmConfig: { routingMethod: 'round-robin' } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const served = async (n: number): Promise<Set<string>> => {
  const client = clientFor(stack);
  const workers = new Set<string>();
  for (let i = 0; i < n; i++) {
    const res = await client.chat.completions.create({ model: stack.models[0] as string, max_tokens: 2, messages: [{ role: 'user', content: `hi ${i}` }] },
      { headers: { 'x-llmux-debug': '1' } }).withResponse();
    workers.add(res.response.headers.get('x-llmux-worker') ?? '');
  }
  return workers;
};

const inFlightSamples = async (): Promise<string[]> => {
  const text = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('llmux_worker_in_flight{'));
};

describe('actors on worker threads', () => {
  it('runs the workers on two threads, none on the main thread, and serves from every one of them', async () => {
    expect(stack.threads).toHaveLength(2);
    expect(stack.workers).toHaveLength(0);
    expect(new Set(stack.threads.map((t) => t.threadId)).size).toBe(2);
    expect(stack.router.table.size).toBe(3);
    expect(await served(12)).toEqual(new Set(stack.workerIds));
  });

  it('serves the threads\' worker metrics through the gateway, one sample per worker', async () => {
    const samples = await inFlightSamples();
    for (const id of stack.workerIds) expect(samples.some((l) => l.includes(`worker_id="${id}"`))).toBe(true);
    const text = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    const calls = text.split('\n').filter((l) => l.startsWith('gen_ai_client_operation_duration_seconds_count{') && l.includes('outcome="ok"'));
    expect(calls.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)).toBeGreaterThanOrEqual(12);
  });

  it('restarts a thread that dies: its workers register again and serve', async () => {
    const thread = stack.threads[0]!;
    const mine = (thread.info.workers as string[]);
    await thread.kill();
    // The router expires them (missed heartbeats) or sees them again once the new thread registers them.
    await waitFor(() => thread.restarts === 1, 10_000);
    await waitFor(() => mine.every((id) => stack.router.table.get(id)?.load.healthy === true), 10_000);
    const again = await served(12);
    for (const id of mine) expect(again.has(id)).toBe(true);
  });

  it('says why a thread could not start, and leaves no thread behind', async () => {
    const plan: ThreadPlan = { logLevel: 'silent', workers: [{ worker: {
      natsUrl: stack.natsUrl, engineKind: 'vllm', engineUrl: 'http://127.0.0.1:1', engineWaitMs: 300, functionId: 'demo', versionId: 'v1', model: 'm', workerId: 'no-engine',
    } }] };
    const error = await HostedThread.start({ name: 'doomed', entry: compiledFile(import.meta.url, '../src/launch/thread-entry.js'), data: plan, log: silentLogger() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/thread 'doomed' failed to start: .*http:\/\/127\.0\.0\.1:1/);
  });
});
