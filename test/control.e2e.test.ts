// The control plane's REST API on a real stack: functions, versions, llmConfig updates applied live
// under traffic, deploy / undeploy and a version's status, and 400s that name the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { admin, chat } from './support/routing.js';
import { startTestStack, waitFor } from './support/stack.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ workers: 2, sim: { itlMs: 1 } });
});
afterAll(async () => stack?.stop());

const model = 'llmux-sim-8b';
const v1 = `/admin/api/functions/demo/versions/v1`;

describe('control plane REST API', () => {
  it('creates, lists, gets and deletes functions and versions, with 400s naming the field and 404s for what does not exist', async () => {
    const created = await admin(stack, 'POST', '/admin/api/functions', undefined, { id: 'summarize', name: 'Summarizer' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'summarize', name: 'Summarizer', functionType: 'LLM' });
    expect((await admin(stack, 'POST', '/admin/api/functions', undefined, { id: 'summarize' })).body.error).toMatchObject({ code: 'invalid_request', param: 'id' });
    expect((await admin(stack, 'POST', '/admin/api/functions', undefined, { id: 'no spaces!' })).body.error.param).toBe('id');
    const version = await admin(stack, 'POST', '/admin/api/functions/summarize/versions', undefined, {
      versionId: 'v1', models: [{ name: 'meta-llama/Llama-3.1-8B-Instruct', llmConfig: { routingMethod: 'prefix-aware', tokenRateLimit: '1000-S' } }],
    });
    expect(version.status).toBe(201);
    const badVersion = await admin(stack, 'POST', '/admin/api/functions/summarize/versions', undefined, {
      versionId: 'v2', models: [{ name: 'm', llmConfig: { routingMethod: 'fastest' } }],
    });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.error.param).toBe('models.0.llmConfig.routingMethod');
    expect((await admin(stack, 'GET', '/admin/api/functions')).body.functions.map((f: { id: string }) => f.id)).toEqual(['demo', 'summarize']);
    expect((await admin(stack, 'GET', '/admin/api/functions/summarize')).body.versions).toHaveLength(1);
    expect((await admin(stack, 'GET', '/admin/api/functions/summarize/versions/v1')).body.models[0].name).toBe('meta-llama/Llama-3.1-8B-Instruct');
    // A model name with a slash travels URL-encoded.
    const patched = await admin(stack, 'PATCH', `/admin/api/functions/summarize/versions/v1/models/${encodeURIComponent('meta-llama/Llama-3.1-8B-Instruct')}`, undefined, { contextLength: 8192 });
    expect(patched.body.models[0].llmConfig).toEqual({ routingMethod: 'prefix-aware', tokenRateLimit: '1000-S', contextLength: 8192 });
    expect((await admin(stack, 'GET', '/admin/api/functions/nope')).status).toBe(404);
    expect((await admin(stack, 'GET', '/admin/api/functions/summarize/versions/v9')).status).toBe(404);
    expect((await admin(stack, 'DELETE', '/admin/api/functions/summarize')).status).toBe(204);
    expect((await admin(stack, 'GET', '/admin/api/functions/summarize')).status).toBe(404);
    await waitFor(async () => (await chat(stack, { model: 'summarize/meta-llama/Llama-3.1-8B-Instruct' })).status === 404, 2_000);
  });

  it("rejects a bad llmConfig update naming the field, and removes a field set to null", async () => {
    const bad = await admin(stack, 'PATCH', `${v1}/models/${model}`, undefined, { tokenRateLimit: 'plenty' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('tokenRateLimit');
    const unknown = await admin(stack, 'PATCH', `${v1}/models/${model}`, undefined, { temperatureDefault: 0.2 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('temperatureDefault');
    expect((await admin(stack, 'PATCH', `${v1}/models/no-such-model`, undefined, {})).status).toBe(404);
    const removed = await admin(stack, 'PATCH', `${v1}/models/${model}`, undefined, { contextLength: null });
    expect(removed.body.models[0].llmConfig.contextLength).toBeUndefined();
  });

  it('changes routingMethod and a rate limit under traffic: both apply with no restart and no failed request', async () => {
    const statuses: number[] = [];
    const methods = new Set<string | null>();
    const limited: boolean[] = [];
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        const a = await chat(stack, { stream: true, max_tokens: 4 }, { 'x-llmux-debug': '1' });
        statuses.push(a.status);
        methods.add(a.headers.get('x-llmux-routing-method'));
        limited.push(a.headers.get('x-ratelimit-limit-tokens') === '1000000');
      }
    };
    const loops = Promise.all(Array.from({ length: 6 }, loop));
    await waitFor(() => statuses.length > 30, 5_000);
    expect((await admin(stack, 'PATCH', `${v1}/models/${model}`, undefined, { routingMethod: 'round-robin', tokenRateLimit: '1000000-M' })).status).toBe(200);
    await waitFor(() => methods.has('round-robin') && limited.at(-1) === true, 5_000);
    const after = statuses.length;
    await waitFor(() => statuses.length > after + 30, 5_000);
    running = false;
    await loops;
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(methods).toEqual(new Set(['least-busy', 'round-robin']));
    console.log(`live change under traffic: ${statuses.length} requests, all 200; methods seen ${[...methods].join(', ')}`);
  });

  it('deploys and undeploys versions: only deployed versions\' workers serve, and status counts them', async () => {
    expect((await admin(stack, 'POST', '/admin/api/functions/demo/versions', undefined, { versionId: 'v2', models: [{ name: model, llmConfig: { tokenizer: 'o200k' } }] })).status).toBe(201);
    expect((await chat(stack, {})).status).toBe(200); // nothing deployed: every version's workers serve
    const deployed = await admin(stack, 'POST', '/admin/api/functions/demo/versions/v2/deploy', undefined, { replicas: 3 });
    expect(deployed.body.deployment).toMatchObject({ replicas: 3 });
    await waitFor(async () => (await chat(stack, {})).status === 503, 3_000);
    const refused = await chat(stack, {});
    expect(refused.body.error.message).toContain('2 not-deployed');
    expect((await admin(stack, 'POST', `${v1}/deploy`, undefined, { cluster: 'elsewhere' })).status).toBe(200);
    expect((await chat(stack, {})).status).toBe(503); // v1 deployed, but only to a cluster its workers are not in
    expect((await admin(stack, 'POST', `${v1}/deploy`, undefined, { clusterName: 'x' })).body.error.message).toContain('clusterName');
    await admin(stack, 'POST', `${v1}/deploy`, undefined, {});
    await waitFor(async () => (await chat(stack, {})).status === 200, 3_000);
    const status = await admin(stack, 'GET', `${v1}/status`);
    expect(status.body).toMatchObject({ deployed: true, workers: { registered: 2, healthy: 2, draining: 0, wanted: null } });
    expect((await admin(stack, 'GET', '/admin/api/functions/demo/versions/v2/status')).body.workers).toMatchObject({ registered: 0, wanted: 3 });
    expect((await admin(stack, 'POST', '/admin/api/functions/demo/versions/v2/undeploy')).body.deployment).toBeUndefined();
    expect((await chat(stack, {})).status).toBe(200);
  });
});
