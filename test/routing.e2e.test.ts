// Routing end to end on a real nats-server: debug headers, decision records, method overrides, live
// method changes, session affinity, drain, health, the circuit breaker, and two routers active-active.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { admin, chat, setLlmConfig } from './support/routing.js';
import { startTestStack, waitFor } from './support/stack.js';
import { sample, scrape } from './support/metrics-scrape.js';

describe('routing - headers, decisions, overrides, affinity', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ workers: 2 });
  });
  afterAll(async () => stack?.stop());

  it('gives every response an x-request-id, and a debug request the worker and routing method', async () => {
    const ids = stack.workers.map((w) => w.descriptor.workerId);
    const plain = await chat(stack, {});
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-request-id')).toMatch(/.+/);
    expect(plain.headers.get('x-llmux-worker')).toBeNull();

    const debug = await chat(stack, {}, { 'x-llmux-debug': '1' });
    expect(ids).toContain(debug.headers.get('x-llmux-worker'));
    expect(debug.headers.get('x-llmux-routing-method')).toBe('least-busy');

    const streamed = await chat(stack, { stream: true }, { 'x-llmux-debug': '1' });
    expect(streamed.body).toContain('data: [DONE]');
    expect(ids).toContain(streamed.headers.get('x-llmux-worker'));
    expect(streamed.headers.get('x-llmux-routing-method')).toBe('least-busy');

    const unknown = await chat(stack, { model: 'demo/no-such-model' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('no_eligible_candidates');
    expect(unknown.headers.get('x-request-id')).toMatch(/.+/);
  });

  it('GET /admin/api/decisions/<request-id> returns the candidates, their scores and the winner', async () => {
    const answer = await chat(stack, {}, { 'x-request-id': 'decision-e2e-1', 'x-llmux-debug': '1' });
    expect(answer.headers.get('x-request-id')).toBe('decision-e2e-1');
    const { status, body } = await admin(stack, 'GET', '/admin/api/decisions/decision-e2e-1');
    expect(status).toBe(200);
    const [decision] = body.decisions;
    expect(body.decisions).toHaveLength(1);
    expect(decision).toMatchObject({ requestId: 'decision-e2e-1', attempt: 1, method: 'least-busy', outcome: 'dispatched', overridden: false,
      winner: answer.headers.get('x-llmux-worker'), functionId: 'demo', model: 'llmux-sim-8b' });
    expect(decision.candidates.map((c: { workerId: string }) => c.workerId).sort()).toEqual(stack.workers.map((w) => w.descriptor.workerId).sort());
    for (const c of decision.candidates) expect(c).toMatchObject({ cluster: 'local', capacity: 64, score: expect.any(Number) });
    expect(decision.decisionMicros).toBeGreaterThanOrEqual(0);

    const missing = await admin(stack, 'GET', '/admin/api/decisions/never-sent');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect((await admin(stack, 'GET', '/admin/api/decisions/decision-e2e-1', 'wrong-key')).status).toBe(401);
    expect((await admin(stack, 'GET', '/admin/api/decisions/%E0%A4%A')).body.error.code).toBe('invalid_request');
    const unknownRoute = await admin(stack, 'GET', '/admin/api/nothing-here');
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body.error.message).toContain('GET /admin/api/decisions/<request-id>');
  });

  it('lets a request choose its routing method only where its model allows it', async () => {
    const refused = await chat(stack, {}, { 'x-llmux-routing-method': 'round-robin' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'x-llmux-routing-method' });
    const unknown = await chat(stack, {}, { 'x-llmux-routing-method': 'fastest-please' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('known: round-robin');

    await setLlmConfig(stack, { routingMethod: 'least-busy', routing: { allowOverride: ['round-robin'] } });
    const allowed = await chat(stack, {}, { 'x-llmux-routing-method': 'round-robin', 'x-llmux-debug': '1', 'x-request-id': 'override-1' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-llmux-routing-method')).toBe('round-robin');
    const { body } = await admin(stack, 'GET', '/admin/api/decisions/override-1');
    expect(body.decisions[0]).toMatchObject({ method: 'round-robin', overridden: true });
  });

  it('applies a routingMethod change live: session affinity then keeps each session on one worker', async () => {
    await setLlmConfig(stack, { routingMethod: 'session-affinity' });
    const workerOf = async (headers: Record<string, string>, body: Record<string, unknown> = {}) =>
      (await chat(stack, body, { 'x-llmux-debug': '1', ...headers })).headers.get('x-llmux-worker');
    for (const session of ['alice', 'bob', 'carol']) {
      const first = await workerOf({ 'x-session-id': session });
      for (let i = 0; i < 4; i++) expect(await workerOf({ 'x-session-id': session })).toBe(first);
    }
    const byCacheKey = await workerOf({}, { prompt_cache_key: 'tenant-7' });
    for (let i = 0; i < 4; i++) expect(await workerOf({}, { prompt_cache_key: 'tenant-7' })).toBe(byCacheKey);
    // Different sessions spread over the workers.
    const used = new Set<string | null>();
    for (let i = 0; i < 24; i++) used.add(await workerOf({ 'x-session-id': `spread-${i}` }));
    expect(used.size).toBe(2);
  });
});

describe('routing - drain, health and the circuit breaker', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ workers: 2, heartbeatMs: 200, sim: { itlMs: 10 },
      breakerPolicy: { minFailures: 3, failureRatio: 0.5, cooldownMs: 1_000, maxCooldownMs: 4_000 } });
  });
  afterAll(async () => stack?.stop());

  const workersView = async () => (await admin(stack, 'GET', '/admin/api/workers')).body.workers as Array<{
    descriptor: { workerId: string }; load: { healthy: boolean; state: string; outcomes: { ok: number; failed: number } }; breaker: string;
  }>;

  it('never opens the circuit on 4xx answers (the client\'s fault)', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${stack.gatewayUrl}/v1/completions`, {
        method: 'POST', headers: { authorization: 'Bearer sk-llmux-test-key', 'content-type': 'application/json' },
        body: JSON.stringify({ model: stack.models[0], prompt: '' }), // the engine answers 400: empty prompt
      });
      expect(res.status).toBe(400);
    }
    await new Promise((r) => setTimeout(r, 500)); // two heartbeats
    for (const w of await workersView()) {
      expect(w.breaker).toBe('closed');
      expect(w.load.outcomes.failed).toBe(0);
    }
  });

  it('opens the circuit of workers whose engine keeps failing, then probes them back in', async () => {
    // Every attempt fails with a 500 from the engine: 6 requests × up to 3 attempts over 2 workers.
    // Once a heartbeat has reported enough failures, later ones may already meet an open circuit (503).
    for (let i = 0; i < 6; i++) {
      const failed = await chat(stack, { messages: [{ role: 'user', content: '[[sim:fail]]' }] });
      if (failed.status === 503) expect(failed.body.error.message).toContain('circuit-open');
      else expect(failed.status).toBe(502);
    }
    await waitFor(async () => (await workersView()).every((w) => w.breaker !== 'closed'), 3_000);
    const refused = await chat(stack, {}, { 'x-request-id': 'while-open' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('no_active_backend');
    expect(refused.body.error.message).toContain('circuit-open');
    const { body } = await admin(stack, 'GET', '/admin/api/decisions/while-open');
    expect(body.decisions[0].candidates.map((c: { excluded: string }) => c.excluded)).toEqual(['circuit-open', 'circuit-open']);
    // The router's metrics say so too, on the gateway's /metrics (llmux up serves every role's).
    const open = (await scrape(`${stack.gatewayUrl}/metrics`)).text;
    expect(sample(open, 'llmux_router_circuit_breakers', { state: 'closed' })).toBe(0);
    expect(sample(open, 'llmux_router_circuit_breakers', { state: 'open' }) + sample(open, 'llmux_router_circuit_breakers', { state: 'half-open' })).toBe(2);
    expect(sample(open, 'llmux_router_circuit_changes_total', { change: 'opened' })).toBeGreaterThanOrEqual(2);
    expect(sample(open, 'llmux_router_decision_duration_seconds_count', { outcome: 'no_active_backend' })).toBeGreaterThanOrEqual(1);
    expect(sample(open, 'gen_ai_client_operation_duration_seconds_count', { outcome: 'failed' })).toBeGreaterThanOrEqual(6);

    // After the cooldown each worker is half-open: a probe succeeds and the next heartbeat closes it.
    await new Promise((r) => setTimeout(r, 1_100));
    await waitFor(async () => (await chat(stack, {})).status === 200 && (await workersView()).every((w) => w.breaker === 'closed'), 6_000);
    const closed = (await scrape(`${stack.gatewayUrl}/metrics`)).text;
    expect(sample(closed, 'llmux_router_circuit_breakers', { state: 'closed' })).toBe(2);
    expect(sample(closed, 'llmux_router_circuit_changes_total', { change: 'closed' })).toBeGreaterThanOrEqual(2);
  });

  it('drains a worker: in-flight streams finish, new requests go elsewhere, and with every worker draining the answer is 503', async () => {
    const long = chat(stack, { stream: true, max_tokens: 60 }, { 'x-llmux-debug': '1' });
    await waitFor(() => stack.workers.some((w) => w.inFlight() > 0), 2_000);
    const busy = stack.workers.find((w) => w.inFlight() > 0)!;
    const other = stack.workers.find((w) => w !== busy)!;
    const drained = await admin(stack, 'POST', `/admin/api/workers/${busy.descriptor.workerId}/drain`);
    expect(drained.status).toBe(202);
    expect(drained.body).toMatchObject({ workerId: busy.descriptor.workerId, state: 'draining', inFlight: 1 });
    for (let i = 0; i < 6; i++) {
      expect((await chat(stack, {}, { 'x-llmux-debug': '1' })).headers.get('x-llmux-worker')).toBe(other.descriptor.workerId);
    }
    const finished = await long;
    expect(finished.status).toBe(200);
    expect(finished.headers.get('x-llmux-worker')).toBe(busy.descriptor.workerId);
    expect(finished.body.match(/"content":"[^"]+"/g)).toHaveLength(60);
    expect(finished.body).toContain('data: [DONE]');
    expect((await workersView()).find((w) => w.descriptor.workerId === busy.descriptor.workerId)?.load.state).toBe('draining');

    await admin(stack, 'POST', `/admin/api/workers/${other.descriptor.workerId}/drain`);
    await waitFor(async () => (await workersView()).every((w) => w.load.state === 'draining'), 2_000);
    const none = await chat(stack, {});
    expect(none.status).toBe(503);
    expect(none.headers.get('retry-after')).toBe('1');
    expect(none.body.error.message).toContain('2 draining');
    expect((await admin(stack, 'POST', '/admin/api/workers/no-such-worker/drain')).status).toBe(404);
  });

  it('shuts a worker down gracefully: it drains first, its in-flight stream completes, then it leaves the table', async () => {
    const fresh = await startTestStack({ workers: 2, heartbeatMs: 200, sim: { itlMs: 10 } });
    try {
      const long = chat(fresh, { stream: true, max_tokens: 50 }, { 'x-llmux-debug': '1' });
      await waitFor(() => fresh.workers.some((w) => w.inFlight() > 0), 2_000);
      const busy = fresh.workers.find((w) => w.inFlight() > 0)!;
      const other = fresh.workers.find((w) => w !== busy)!;
      const stopping = busy.stop();
      await waitFor(() => fresh.router.table.get(busy.descriptor.workerId)?.load.state === 'draining', 2_000);
      expect((await chat(fresh, {}, { 'x-llmux-debug': '1' })).headers.get('x-llmux-worker')).toBe(other.descriptor.workerId);
      const finished = await long;
      expect(finished.body.match(/"content":"[^"]+"/g)).toHaveLength(50);
      expect(finished.body).toContain('data: [DONE]');
      await stopping;
      await waitFor(() => fresh.router.table.get(busy.descriptor.workerId) === undefined, 2_000);
    } finally {
      await fresh.stop();
    }
  });

  it('reports a worker whose engine stops answering health checks as unhealthy, and routes around it', async () => {
    // Both workers are draining from the previous test: a fresh stack is simpler than undoing it.
    const fresh = await startTestStack({ workers: 2, heartbeatMs: 200 });
    try {
      const [dead, alive] = fresh.workers;
      await fresh.sims[0]!.close();
      await waitFor(async () => {
        const { body } = await admin(fresh, 'GET', '/admin/api/workers');
        return body.workers.some((w: { descriptor: { workerId: string }; load: { healthy: boolean } }) => w.descriptor.workerId === dead!.descriptor.workerId && !w.load.healthy);
      }, 3_000);
      for (let i = 0; i < 4; i++) {
        const answer = await chat(fresh, {}, { 'x-llmux-debug': '1', 'x-request-id': `around-${i}` });
        expect(answer.status).toBe(200);
        expect(answer.headers.get('x-llmux-worker')).toBe(alive!.descriptor.workerId);
      }
      const { body } = await admin(fresh, 'GET', '/admin/api/decisions/around-0');
      expect(body.decisions[0].candidates.find((c: { workerId: string }) => c.workerId === dead!.descriptor.workerId).excluded).toBe('unhealthy');
      // Its failed health checks and metrics scrapes are counted, as its worker's.
      const metrics = (await scrape(`${fresh.gatewayUrl}/metrics`)).text;
      expect(sample(metrics, 'llmux_worker_health_checks_total', { worker_id: dead!.descriptor.workerId, result: 'failed' })).toBeGreaterThanOrEqual(2);
      expect(sample(metrics, 'llmux_worker_engine_scrape_errors_total', { worker_id: dead!.descriptor.workerId })).toBeGreaterThanOrEqual(1);
      expect(sample(metrics, 'llmux_worker_health_checks_total', { worker_id: alive!.descriptor.workerId, result: 'failed' })).toBe(0);
      expect(sample(metrics, 'llmux_worker_engine_scrape_errors_total', { worker_id: alive!.descriptor.workerId })).toBe(0);
    } finally {
      await fresh.stop();
    }
  });
});
