// The simulator under load over real HTTP: queueing beyond max concurrency, and stopping promptly
// when a client goes away, whether its request is generating or still queued.
import { describe, expect, it } from 'vitest';
import type { SimServer } from './sim-server.js';
import { chatBody, metric, post, simulators, waitFor } from './sim-test-support.js';

const startSim = simulators();
const labels = 'model_name="llmux-sim-8b",engine="0"';

/** A stream that keeps generating until aborted; resolves once its first bytes have arrived. */
async function openStream(sim: SimServer, controller: AbortController): Promise<void> {
  const res = await post(sim, '/v1/chat/completions', chatBody('long', { stream: true, max_tokens: 100_000 }), controller.signal);
  await res.body?.getReader().read();
}

/** A request that queues behind others; the promise settles when it is answered or aborted. */
const queued = (sim: SimServer, controller?: AbortController): Promise<Response> =>
  post(sim, '/v1/chat/completions', chatBody('q', { max_tokens: 1 }), controller?.signal);

describe('sim load', () => {
  it('queues requests beyond max concurrency, reports them waiting, and serves them when a slot frees', async () => {
    const sim = await startSim({ maxConcurrency: 1, itlMs: 5 });
    const holder = new AbortController();
    await openStream(sim, holder);
    const waiting = [queued(sim), queued(sim)];
    await waitFor(async () => (await metric(sim, `vllm:num_requests_waiting{${labels}}`)) === 2, 2000, 'two requests waiting');
    expect(await metric(sim, `vllm:num_requests_running{${labels}}`)).toBe(1);
    expect(await metric(sim, `vllm:kv_cache_usage_perc{${labels}}`)).toBe(1);
    holder.abort();
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200]);
    expect(await metric(sim, `vllm:num_requests_waiting{${labels}}`)).toBe(0);
  });

  it('stops generating and counts an abort within a second when the client goes away mid-stream', async () => {
    const sim = await startSim({ itlMs: 5 });
    const controller = new AbortController();
    await openStream(sim, controller);
    expect(sim.stats().running).toBe(1);
    controller.abort();
    const tookMs = await waitFor(async () => (await metric(sim, 'llmux_sim_aborted_requests_total')) === 1, 1000, 'the abort counted');
    expect(tookMs).toBeLessThan(1000);
    expect(await metric(sim, `vllm:num_requests_running{${labels}}`)).toBe(0);
    expect(await metric(sim, `vllm:request_success_total{${labels},finished_reason="abort"}`)).toBe(1);
    expect(sim.stats().aborted).toBe(1);
  });

  it('notices a client leaving even with no inter-token latency', async () => {
    const sim = await startSim();
    const controller = new AbortController();
    await openStream(sim, controller);
    controller.abort();
    await waitFor(() => sim.stats().aborted === 1 && sim.stats().running === 0, 1000, 'the abort counted');
  });

  it('drops a queued request whose client leaves, without it ever taking a slot', async () => {
    const sim = await startSim({ maxConcurrency: 1, itlMs: 5 });
    const holder = new AbortController();
    await openStream(sim, holder);
    const leaver = new AbortController();
    const left = queued(sim, leaver).catch(() => 'aborted');
    await waitFor(() => sim.stats().waiting === 1, 2000, 'one request waiting');
    leaver.abort();
    expect(await left).toBe('aborted');
    await waitFor(() => sim.stats().waiting === 0, 1000, 'the queue emptied');
    expect(sim.stats()).toMatchObject({ running: 1, aborted: 1 });
    holder.abort();
    await waitFor(() => sim.stats().running === 0, 1000, 'the slot freed');
  });

  it('engine timing: frees the KV blocks of a client that leaves, generating or queued', async () => {
    const sim = await startSim({ timing: 'engine', maxConcurrency: 1, engine: { speedup: 20 } });
    const holder = new AbortController();
    await openStream(sim, holder);
    const leaver = new AbortController();
    const left = queued(sim, leaver).catch(() => 'aborted');
    await waitFor(() => sim.stats().waiting === 1 && sim.stats().running === 1, 2000, 'one running, one waiting');
    expect(sim.stats().kv?.usage).toBeGreaterThan(0);
    leaver.abort();
    expect(await left).toBe('aborted');
    holder.abort();
    await waitFor(() => sim.stats().running === 0 && sim.stats().waiting === 0 && sim.stats().aborted === 2, 2000, 'both aborts counted');
    expect(sim.stats().kv?.usage).toBe(0);
    expect(await metric(sim, `vllm:request_success_total{${labels},finished_reason="abort"}`)).toBe(2);
  });

  it('closes promptly with a stream in flight', async () => {
    const sim = await startSim({ itlMs: 5 });
    await openStream(sim, new AbortController());
    const started = Date.now();
    await sim.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(`${sim.url}/health`)).rejects.toThrow();
  });
});
