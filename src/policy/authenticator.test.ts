import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { LlmuxError } from '../errors.js';
import { defaultAuthMode } from './auth-mode.js';
import { Authenticator } from './authenticator.js';

const bearer = (credential: string): string => `Bearer ${credential}`;
const outcome = async (auth: Authenticator, authorization?: string): Promise<string> => {
  const who = await auth.authenticate(authorization);
  return who instanceof LlmuxError ? `401 ${who.message}` : who.tenant;
};

describe('auth mode', () => {
  const local = { host: '127.0.0.1', staticKeys: 0, jwt: false, sharedKeyStore: false };

  it('auth mode - is off only for a self-contained stack on loopback with no key source', () => {
    expect(defaultAuthMode(local)).toBe('off');
    expect(defaultAuthMode({ ...local, host: '::1' })).toBe('off');
    expect(defaultAuthMode({ ...local, host: '0.0.0.0' })).toBe('required');
    expect(defaultAuthMode({ ...local, host: '10.0.0.5' })).toBe('required');
    expect(defaultAuthMode({ ...local, staticKeys: 1 })).toBe('required');
    expect(defaultAuthMode({ ...local, jwt: true })).toBe('required');
    expect(defaultAuthMode({ ...local, sharedKeyStore: true })).toBe('required');
  });

  it('authenticator - requires a credential unless told the deployment runs with auth off', async () => {
    expect(await outcome(new Authenticator({}))).toMatch(/^401 missing credentials/);
    expect(await outcome(new Authenticator({ mode: 'off' }))).toBe('anonymous');
  });

  it('authenticator - with auth off, refuses what claims to be an llmux key but is none, and lets a placeholder through', async () => {
    const off = new Authenticator({ mode: 'off', staticKeys: ['sk-local'] });
    expect(await outcome(off, bearer('sk-local'))).toBe('default');
    expect(await outcome(off, bearer('sk-llmux-revoked-or-never-made'))).toBe('401 invalid API key');
    expect(await outcome(off, bearer('EMPTY'))).toBe('anonymous');
    expect(await outcome(new Authenticator({ mode: 'required' }), bearer('EMPTY'))).toBe('401 invalid API key');
  });

  it('authenticator - takes a key header (Anthropic\'s x-api-key) as the bearer, and never reads a malformed one as none, even with auth off', async () => {
    const off = new Authenticator({ mode: 'off', staticKeys: ['sk-local'] });
    const who = async (headers: Record<string, string>): Promise<string> => {
      const p = await off.authenticateRequest(headers, 'x-api-key');
      return p instanceof LlmuxError ? `401 ${p.message}` : p.tenant;
    };
    expect(await who({ 'x-api-key': 'sk-local' })).toBe('default');
    expect(await who({})).toBe('anonymous');
    expect(await who({ 'x-api-key': '' })).toMatch(/^401/);
    expect(await who({ 'x-api-key': 'sk-local sk-other' })).toMatch(/^401/);
    expect(await who({ 'x-api-key': 'sk-local', authorization: bearer('EMPTY') })).toMatch(/^401 .*different credentials/);
    expect(await who({ 'x-api-key': 'sk-local', authorization: bearer('sk-local') })).toBe('default');
    // Without the key header named, x-api-key is nothing.
    expect(await off.authenticateRequest({ 'x-api-key': 'sk-llmux-never-made' })).toBe(await off.authenticate(undefined));
  });
});

describe('jwt claims', () => {
  let jwks: string;
  let sign: (claims: Record<string, unknown>, expires?: boolean) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    jwks = join(mkdtempSync(join(tmpdir(), 'llmux-jwks-')), 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }));
    sign = (claims, expires = true) => {
      const token = new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('iss').setAudience('aud');
      return (expires ? token.setExpirationTime('5m') : token).sign(privateKey);
    };
  });
  const jwtAuth = (allowNoExp = false): Authenticator => new Authenticator({ jwt: { issuer: 'iss', audience: 'aud', jwks, allowNoExp } });

  it('jwt claims - grant the listed functions, every function only when the claim is absent', async () => {
    expect(await jwtAuth().authenticate(bearer(await sign({ tenant: 'acme', sub: 'u1', llmux_functions: ['demo'] }))))
      .toEqual({ tenant: 'acme', keyId: 'jwt:u1', functions: ['demo'], via: 'jwt' });
    expect(await jwtAuth().authenticate(bearer(await sign({ tenant: 'acme' })))).toMatchObject({ keyId: 'jwt:unknown', functions: ['*'] });
  });

  it('jwt claims - refuse a functions claim that is not an array of function ids', async () => {
    for (const functions of ['demo', '*', ['demo', 1], [null], ['a.b'], {}, Array.from({ length: 257 }, (_, i) => `f${i}`)]) {
      expect(await outcome(jwtAuth(), bearer(await sign({ tenant: 'acme', llmux_functions: functions })))).toMatch(/^401 .*'llmux_functions' claim/);
    }
  });

  it('jwt claims - refuse a token without exp unless allowed', async () => {
    const forever = await sign({ tenant: 'acme' }, false);
    expect(await outcome(jwtAuth(), bearer(forever))).toBe("401 the bearer token has no 'exp' claim: tokens must expire");
    expect(await outcome(jwtAuth(true), bearer(forever))).toBe('acme');
  });

  it('jwt claims - bound the tenant and sub claims in type, length and characters', async () => {
    for (const tenant of ['t'.repeat(5_000), 't'.repeat(129), '', 'a b', 'a*', 'a>', 'ü', 7, ['acme'], null]) {
      expect(await outcome(jwtAuth(), bearer(await sign({ tenant })))).toMatch(/^401 .*'tenant' claim/);
    }
    expect(await outcome(jwtAuth(), bearer(await sign({ tenant: 'org:acme.example@eu-1_x' })))).toBe('org:acme.example@eu-1_x');
    expect(await outcome(jwtAuth(), bearer(await sign({ tenant: 't'.repeat(128) })))).toBe('t'.repeat(128));
    for (const sub of [7, 'a b', 's'.repeat(129), '']) {
      expect(await outcome(jwtAuth(), bearer(await sign({ tenant: 'acme', sub })))).toMatch(/^401 .*'sub' claim/);
    }
  });
});
