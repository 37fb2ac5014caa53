// Authentication that fails closed, end to end on a real nats-server: "auth required" is the
// deployment's setting (revoking the last key never switches it off, and a revoked key is refused in
// every mode), JWT claims are checked for type and length, and a required header selector refuses a
// request that omits its header.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFunctionId, demoModel, demoVersionId } from '../src/control/demo-function.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { type RunGatewayOptions, type RunningGateway, runGateway } from '../src/launch/roles.js';
import { silentLogger } from '../src/observability/logger.js';
import { admin } from './support/routing.js';
import { startTestStack, waitFor } from './support/stack.js';

interface Answer { status: number; body: { error?: { code: string; message: string; param?: string } } }

/** A chat request to `url` with exactly these headers: no credential unless one is given. */
async function ask(url: string, headers: Record<string, string> = {}, model = `${demoFunctionId}/${demoModel}`): Promise<Answer> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, max_tokens: 2, messages: [{ role: 'user', content: 'hello' }] }),
  });
  return { status: res.status, body: await res.json() as Answer['body'] };
}
const as = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` });

describe('auth - a setting of the deployment, never a count of keys', () => {
  let stack: LocalStack;
  /** A second gateway on the same control plane, run with `auth: off`. */
  let open: RunningGateway;
  const extra: RunningGateway[] = [];
  const gateway = async (options: Partial<RunGatewayOptions>): Promise<RunningGateway> => {
    const g = await runGateway({ natsUrl: stack.natsUrl, ...stack.natsCredentials, log: silentLogger(), host: '127.0.0.1', port: 0, ...options });
    extra.push(g);
    return g;
  };

  beforeAll(async () => {
    // No static key and no JWT: only keys made through the admin API, and auth required by setting.
    stack = await startTestStack({ workers: 1, apiKeys: [], auth: 'required' });
    open = await gateway({ auth: 'off' });
  });
  afterAll(async () => {
    for (const g of extra) await g.stop();
    await stack?.stop();
  });

  it('refuses callers without a key before any key exists, and after the last key is revoked; the revoked key too', async () => {
    expect((await ask(stack.gatewayUrl)).status).toBe(401);
    const created = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme' });
    expect(created.status).toBe(201);
    const secret = created.body.key as string;
    expect((await ask(stack.gatewayUrl, as(secret))).status).toBe(200);
    expect((await admin(stack, 'DELETE', `/admin/api/keys/${created.body.keyId}`)).status).toBe(204);
    await waitFor(async () => (await ask(stack.gatewayUrl, as(secret))).status === 401, 2_000);
    const anonymous = await ask(stack.gatewayUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error?.code).toBe('invalid_api_key');
    expect((await ask(stack.gatewayUrl, as('sk-some-placeholder'))).status).toBe(401);
  });

  it('with auth off, lets callers without a key in, but still refuses a revoked key', async () => {
    expect((await ask(open.url)).status).toBe(200);
    expect((await ask(open.url, as('sk-no-key-needed'))).status).toBe(200); // an SDK's placeholder is no credential
    const created = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme' });
    const secret = created.body.key as string;
    await waitFor(async () => (await ask(open.url, as(secret))).status === 200, 2_000);
    expect((await admin(stack, 'DELETE', `/admin/api/keys/${created.body.keyId}`)).status).toBe(204);
    await waitFor(async () => (await ask(open.url, as(secret))).status === 401, 2_000);
    expect((await ask(open.url, as(secret))).body.error?.message).toBe('invalid API key');
  });

  describe('JWT claims', () => {
    let jwt: RunningGateway;
    let lenient: RunningGateway;
    let sign: (claims: Record<string, unknown>, expires?: boolean) => Promise<string>;

    beforeAll(async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      const jwks = join(mkdtempSync(join(tmpdir(), 'llmux-jwks-')), 'jwks.json');
      writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }));
      sign = (claims, expires = true) => {
        const token = new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt().setIssuer('https://issuer.test').setAudience('llmux');
        return (expires ? token.setExpirationTime('5m') : token).sign(privateKey);
      };
      const options = { issuer: 'https://issuer.test', audience: 'llmux', jwks };
      jwt = await gateway({ auth: 'required', jwt: options });
      lenient = await gateway({ auth: 'required', jwt: { ...options, allowNoExp: true } });
    });

    it('accepts a well-formed token, and refuses one whose llmux_functions claim is not a list of function ids', async () => {
      expect((await ask(jwt.url, as(await sign({ tenant: 'globex', sub: 'user-1', llmux_functions: [demoFunctionId] })))).status).toBe(200);
      for (const functions of [demoFunctionId, '*', [demoFunctionId, 42], [{}], [''], {}]) {
        const answer = await ask(jwt.url, as(await sign({ tenant: 'globex', llmux_functions: functions })));
        expect(answer.status, JSON.stringify(functions)).toBe(401);
        expect(answer.body.error?.message).toContain("'llmux_functions' claim");
      }
    });

    it('refuses a token without exp unless the gateway allows it', async () => {
      const forever = await sign({ tenant: 'globex' }, false);
      const refused = await ask(jwt.url, as(forever));
      expect(refused.status).toBe(401);
      expect(refused.body.error?.message).toContain("no 'exp' claim");
      expect((await ask(lenient.url, as(forever))).status).toBe(200);
    });

    it('refuses a tenant or sub claim of the wrong type, length or characters, and keeps serving', async () => {
      for (const claims of [
        { tenant: 'x'.repeat(5_000) }, { tenant: 'x'.repeat(129) }, { tenant: 'a b' }, { tenant: 'a.>' }, { tenant: 42 }, { tenant: ['acme'] },
        { tenant: 'globex', sub: 42 }, { tenant: 'globex', sub: 's'.repeat(200) },
      ]) {
        const answer = await ask(jwt.url, as(await sign(claims)));
        expect(answer.status, JSON.stringify(claims).slice(0, 60)).toBe(401);
        expect(answer.body.error?.code).toBe('invalid_api_key');
      }
      expect((await ask(jwt.url, as(await sign({ tenant: 'x'.repeat(128) })))).status).toBe(200);
      // The gateway's NATS connection is intact: the next requests are served, and billed.
      await new Promise((r) => setTimeout(r, 500));
      expect((await ask(jwt.url, as(await sign({ tenant: 'globex' })))).status).toBe(200);
    });
  });

  it('refuses a request that omits the header of a required rate-limit selector, naming it', async () => {
    const { key } = (await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme' })).body as { key: string };
    await stack.gateway.catalog.putVersion({
      functionId: demoFunctionId, versionId: demoVersionId, createdAt: new Date().toISOString(),
      models: [{ name: demoModel, llmConfig: { tokenizer: 'o200k', rateLimitSelectors: [{ header: 'X-End-User', requestRateLimit: '100-M', required: true }] } }],
    });
    await waitFor(async () => (await ask(stack.gatewayUrl, as(key))).status === 400, 2_000);
    const missing = await ask(stack.gatewayUrl, as(key));
    expect(missing.body.error).toMatchObject({ code: 'invalid_request', param: 'x-end-user' });
    expect(missing.body.error?.message).toContain("'x-end-user'");
    expect((await ask(stack.gatewayUrl, { ...as(key), 'x-end-user': '' })).status).toBe(400);
    expect((await ask(stack.gatewayUrl, { ...as(key), 'x-end-user': 'alice' })).status).toBe(200);
  });
});
