// Policy end to end on a real nats-server: API keys from the admin API (stored hashed), JWTs,
// 401/403, rate limits with their headers on streaming and non-streaming answers, 429 with an exact
// retry-after, completion budgets, and the limiter's fail modes.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFunctionId } from '../src/control/demo-function.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { admin, chat, setLlmConfig } from './support/routing.js';
import { startTestStack, testApiKey, waitFor } from './support/stack.js';

const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('policy - API keys, JWT, permissions', () => {
  let stack: LocalStack;
  let jwks: string;
  let sign: (claims: Record<string, unknown>, options?: { issuer?: string; audience?: string; expiresIn?: string }) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const dir = mkdtempSync(join(tmpdir(), 'llmux-jwks-'));
    jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }));
    sign = (claims, o = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt()
      .setIssuer(o.issuer ?? 'https://issuer.test').setAudience(o.audience ?? 'llmux').setExpirationTime(o.expiresIn ?? '5m').sign(privateKey);
    stack = await startTestStack({ workers: 1, jwt: { issuer: 'https://issuer.test', audience: 'llmux', jwks } });
  });
  afterAll(async () => stack?.stop());

  it('gives debug headers (the worker, the routing method) only to keys allowed them', async () => {
    const plain = (await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme' })).body.key as string;
    const debugging = (await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme', debug: true })).body.key as string;
    await waitFor(async () => (await chat(stack, {}, as(debugging))).status === 200, 2_000);
    const hidden = await chat(stack, {}, { ...as(plain), 'x-llmux-debug': '1' });
    expect(hidden.status).toBe(200);
    expect(hidden.headers.get('x-llmux-worker')).toBeNull();
    expect(hidden.headers.get('x-llmux-routing-method')).toBeNull();
    const shown = await chat(stack, {}, { ...as(debugging), 'x-llmux-debug': '1' });
    expect(shown.headers.get('x-llmux-worker')).toBe(stack.workers[0]!.descriptor.workerId);
    // The operator's own --api-key keys may always ask.
    expect((await chat(stack, {}, { 'x-llmux-debug': '1' })).headers.get('x-llmux-worker')).toBe(stack.workers[0]!.descriptor.workerId);
  });

  it('creates a key through the admin API, stores only its hash, and revokes it', async () => {
    expect((await admin(stack, 'POST', '/admin/api/keys', testApiKey, { tenant: 'acme' })).status).toBe(401); // a client key is not an admin key
    const created = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme', functions: [demoFunctionId], name: 'ci' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenant: 'acme', functions: [demoFunctionId], keyId: expect.stringMatching(/^key_/), key: expect.stringMatching(/^sk-llmux-/) });
    const secret = created.body.key as string;
    // The control KV holds the SHA-256 of the secret, never the secret.
    const kv = await stack.gateway.keys.kv.keys('apikeys.');
    expect(kv).toContain(`apikeys.${createHash('sha256').update(secret).digest('hex')}`);
    for (const key of kv) expect(JSON.stringify((await stack.gateway.keys.kv.get(key))?.value)).not.toContain(secret);
    const listed = await admin(stack, 'GET', '/admin/api/keys');
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    expect((await chat(stack, {}, as(secret))).status).toBe(200);
    expect((await admin(stack, 'DELETE', `/admin/api/keys/${created.body.keyId}`)).status).toBe(204);
    await waitFor(async () => (await chat(stack, {}, as(secret))).status === 401, 2_000);
    expect((await admin(stack, 'DELETE', `/admin/api/keys/${created.body.keyId}`)).status).toBe(404);
  });

  it('answers 401 invalid_api_key without or with bad credentials, and 403 permission_denied outside a key\'s functions', async () => {
    const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    const denied = await client.chat.completions.create({ model: stack.models[0]!, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((denied as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
    const none = await fetch(`${stack.gatewayUrl}/v1/models`);
    expect(none.status).toBe(401);

    const other = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme', functions: ['some-other-function'] });
    const forbidden = await new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: other.body.key, maxRetries: 0 }).chat.completions
      .create({ model: stack.models[0]!, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((forbidden as InstanceType<typeof OpenAI.APIError>).code).toBe('permission_denied');
    const bad = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme', functions: 'all' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('functions');
  });

  it('accepts a JWT from the configured issuer with a tenant claim, and refuses a wrong audience, an expired token or no tenant', async () => {
    expect((await chat(stack, {}, as(await sign({ tenant: 'globex', sub: 'user-1' })))).status).toBe(200);
    const scoped = await sign({ tenant: 'globex', llmux_functions: ['elsewhere'] });
    expect((await chat(stack, {}, as(scoped))).body.error.code).toBe('permission_denied');
    for (const [token, says] of [
      [await sign({ tenant: 'globex' }, { audience: 'someone-else' }), "'aud'"],
      [await sign({ tenant: 'globex' }, { expiresIn: '-1m' }), 'expired'],
      [await sign({ sub: 'no-tenant' }), "'tenant'"],
    ] as const) {
      const answer = await chat(stack, {}, as(token));
      expect(answer.status).toBe(401);
      expect(answer.body.error.message).toContain(says);
    }
  });
});

describe('policy - token-aware rate limits', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ workers: 1, sim: { itlMs: 2 }, limiter: { defaultMaxTokens: 50 } });
  });
  afterAll(async () => stack?.stop());

  it('puts the rate-limit headers on every answer, streaming ones included', async () => {
    await setLlmConfig(stack, { tokenRateLimit: '100000-M', requestRateLimit: '1000-M' });
    for (const stream of [false, true]) {
      const answer = await chat(stack, { stream, max_tokens: 5 });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ratelimit-limit-requests')).toBe('1000');
      expect(Number(answer.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(1000);
      expect(answer.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?s$|^\d+m\d+s$/);
      expect(answer.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
      expect(Number(answer.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(100000);
      expect(answer.headers.get('x-ratelimit-reset-tokens')).toMatch(/s$/);
      expect(answer.headers.get('ratelimit-policy')).toBe('"requests";q=1000;w=60, "tokens";q=100000;w=60');
      expect(answer.headers.get('ratelimit')).toMatch(/^"requests";r=\d+;t=\d+, "tokens";r=\d+;t=\d+$/);
    }
  });

  it('answers 429 with retry-after equal to the time until enough quota returns, and a body naming the limit', async () => {
    await setLlmConfig(stack, { tokenRateLimit: '400-S' });
    await new Promise((r) => setTimeout(r, 1_100)); // the setLlmConfig probes used some of this second's quota
    // Two requests of ~309 tokens at once against 400 per second: one is admitted, the other refused
    // (sent together, so a slow machine cannot let a second pass between them).
    const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: testApiKey, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: stack.models[0]!, max_tokens: 300, messages: [{ role: 'user', content: 'hello' }] })
      .then(() => 'ok' as const, (e: unknown) => e);
    const answers = await Promise.all([ask(), ask()]);
    const refusedAt = Date.now();
    expect(answers.filter((a) => a === 'ok')).toHaveLength(1);
    const refused = answers.find((a) => a !== 'ok');
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toContain("tokens limit 400-S of model 'demo/llmux-sim-8b'");
    const retryAfterMs = Number(error.headers?.get('retry-after-ms'));
    // The first request's tokens leave the 1 s window about 1 s after it was admitted, not after a whole window from now.
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(1_000);
    expect(error.headers?.get('retry-after')).toBe(String(Math.ceil(retryAfterMs / 1000)));
    await new Promise((r) => setTimeout(r, Math.max(0, retryAfterMs - (Date.now() - refusedAt)) + 50));
    expect((await chat(stack, { max_tokens: 300 })).status).toBe(200);
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/llmux_gateway_rate_limited_total\{limit="tokens",scope="model"\} [1-9]/);
    expect(metrics).toMatch(/llmux_gateway_admission_seconds_count [1-9]/);
  });

  it('caps a stream without max_tokens at its reservation: it ends with finish_reason length and says why', async () => {
    await setLlmConfig(stack, { tokenRateLimit: '1000000-M' });
    const answer = await chat(stack, { stream: true, max_tokens: undefined });
    expect(answer.headers.get('x-llmux-completion-budget')).toBe('50');
    expect(answer.body.match(/"content":"[^"]+"/g)).toHaveLength(50);
    expect(answer.body).toContain('"finish_reason":"length"');
    expect(answer.body).toContain(': llmux: the completion stopped at the 50 tokens reserved for it');
    await setLlmConfig(stack, { tokenRateLimit: '40-S' });
    await new Promise((r) => setTimeout(r, 1_100));
    const squeezed = await chat(stack, { stream: true, max_tokens: undefined });
    const budget = Number(squeezed.headers.get('x-llmux-completion-budget'));
    expect(budget).toBeGreaterThan(0);
    expect(budget).toBeLessThan(40); // what the 40-token second had left after the prompt
    expect(squeezed.body.match(/"content":"[^"]+"/g)).toHaveLength(budget);
  });

  it('reserves max_tokens for every prompt of a completions prompt array, since the engine answers each', async () => {
    await setLlmConfig(stack, { tokenRateLimit: '250-S' });
    await new Promise((r) => setTimeout(r, 1_100));
    const complete = (prompt: string | string[]) => fetch(`${stack.gatewayUrl}/v1/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.models[0], max_tokens: 100, prompt }),
    });
    // One prompt: about 100 tokens of 250 per second. Three prompts: 300 completion tokens, more than the limit.
    expect((await complete('one prompt')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    const three = await complete(['first', 'second', 'third']);
    expect(three.status).toBe(429);
    expect(((await three.json()) as { error: { message: string } }).error.message).toMatch(/this request needs 30\d/);
  });

  it('applies limits per key, per tenant and per header value, and says which one was hit', async () => {
    await setLlmConfig(stack, { rateLimitSelectors: [{ header: 'x-claim-name', requestRateLimit: '2-M' }] });
    const perClaim = async (claim: string) => (await chat(stack, { max_tokens: 2 }, { 'x-claim-name': claim })).status;
    expect([await perClaim('alice'), await perClaim('alice'), await perClaim('alice'), await perClaim('bob')]).toEqual([200, 200, 429, 200]);
    const limited = await chat(stack, { max_tokens: 2 }, { 'x-claim-name': 'alice' });
    expect(limited.body.error.message).toContain("requests limit 2-M of 'demo/llmux-sim-8b:x-claim-name=alice'");

    const key = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'initech', requestRateLimit: '1-M' });
    expect((await chat(stack, { max_tokens: 2 }, as(key.body.key))).status).toBe(200);
    const second = await chat(stack, { max_tokens: 2 }, as(key.body.key));
    expect(second.status).toBe(429);
    expect(second.body.error.message).toContain(`API key ${key.body.keyId}`);

    expect((await admin(stack, 'PUT', '/admin/api/tenants/umbrella', undefined, { tokenRateLimit: '5-M' })).status).toBe(200);
    const tenantKey = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'umbrella' });
    const refused = await chat(stack, { max_tokens: 10 }, as(tenantKey.body.key));
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toContain("more than the tokens limit 5-M of tenant 'umbrella' allows at all");
    expect(refused.headers.get('retry-after')).toBeNull(); // it can never fit: no point retrying
    const badLimit = await admin(stack, 'PUT', '/admin/api/tenants/umbrella', undefined, { tokenRateLimit: 'lots' });
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.param).toBe('tokenRateLimit');
  });

  it('fails open or closed when the limiter does not answer, as configured', async () => {
    await setLlmConfig(stack, { tokenRateLimit: '100000-M' });
    await stack.limiter!.stop();
    const open = await chat(stack, { max_tokens: 3 });
    expect(open.status).toBe(200);
    expect(open.headers.get('x-ratelimit-status')).toBe('limiter-unavailable');
    expect(await (await fetch(`${stack.gatewayUrl}/metrics`)).text()).toMatch(/llmux_gateway_limiter_unavailable_total\{outcome="admitted"\} 1/);
    const closed = await startTestStack({ workers: 1, startLimiter: false, limiter: { failMode: 'closed', timeoutMs: 200 }, llmConfig: { tokenRateLimit: '1000-M' } });
    try {
      const answer = await chat(closed, { max_tokens: 3 });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('rate_limiter_unavailable');
    } finally {
      await closed.stop();
    }
  });
});
