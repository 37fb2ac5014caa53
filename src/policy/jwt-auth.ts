/**
 * Bearer JWTs checked with `jose` against a configured issuer, audience and JWKS (a file or a URL,
 * fetched and cached by jose). The tenant comes from a claim (default `tenant`); an optional claim
 * (default `llmux_functions`) lists the functions the token may use, all when absent.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ErrorCode, LlmuxError } from '../errors.js';
import type { Principal } from './principal.js';

export interface JwtOptions {
  issuer: string;
  audience: string;
  /** A path to a JWKS JSON file, or an http(s) URL serving one. */
  jwks: string;
  tenantClaim?: string;
  functionsClaim?: string;
}

const unauthorized = (message: string): LlmuxError => new LlmuxError({ code: ErrorCode.invalidApiKey, retryable: false, message });

export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

export class JwtAuth {
  readonly #keys: JWTVerifyGetKey;

  constructor(readonly options: JwtOptions) {
    this.#keys = /^https?:\/\//.test(options.jwks)
      ? createRemoteJWKSet(new URL(options.jwks))
      : createLocalJWKSet(JSON.parse(readFileSync(options.jwks, 'utf8')) as Parameters<typeof createLocalJWKSet>[0]);
  }

  async verify(token: string): Promise<Principal | LlmuxError> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, { issuer: this.options.issuer, audience: this.options.audience }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return unauthorized('the bearer token has expired');
      if (error instanceof errors.JWTClaimValidationFailed) return unauthorized(`the bearer token's '${error.claim}' claim is not accepted`);
      return unauthorized('the bearer token could not be verified');
    }
    const tenantClaim = this.options.tenantClaim ?? 'tenant';
    const tenant = payload[tenantClaim];
    if (typeof tenant !== 'string' || tenant === '') return unauthorized(`the bearer token has no '${tenantClaim}' claim naming the tenant`);
    const functionsClaim = payload[this.options.functionsClaim ?? 'llmux_functions'];
    const functions = Array.isArray(functionsClaim) && functionsClaim.every((f) => typeof f === 'string') ? functionsClaim as string[] : ['*'];
    return { tenant, keyId: `jwt:${payload.sub ?? 'unknown'}`, functions, via: 'jwt' };
  }
}
