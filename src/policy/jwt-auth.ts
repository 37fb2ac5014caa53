/**
 * Bearer JWTs checked with `jose` against a configured issuer, audience and JWKS (a file or a URL,
 * fetched and cached by jose). The tenant comes from a claim (default `tenant`); an optional claim
 * (default `llmux_functions`) lists the functions the token may use, all when absent. A token must
 * carry `exp` unless `allowNoExp`. Every claim the gateway uses is checked for type and length, and
 * a claim that is present but malformed refuses the token: it never widens what the token grants.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { z } from 'zod';
import { ErrorCode, LlmuxError } from '../errors.js';
import { grantedFunctionsSchema, type Principal, subjectClaimSchema, tenantSchema } from './principal.js';

export interface JwtOptions {
  issuer: string;
  audience: string;
  /** A path to a JWKS JSON file, or an http(s) URL serving one. */
  jwks: string;
  tenantClaim?: string;
  functionsClaim?: string;
  /** Accept tokens without an `exp` claim (`--jwt-allow-no-exp`); by default they are refused, since they would be valid forever. */
  allowNoExp?: boolean;
}

const unauthorized = (message: string): LlmuxError => new LlmuxError({ code: ErrorCode.invalidApiKey, retryable: false, message });

export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

/** The claim's value when it passes `schema`, or the 401 naming the claim and what it must be. */
function claim<T>(payload: JWTPayload, name: string, schema: z.ZodType<T>, must: string): T | LlmuxError {
  const parsed = schema.safeParse(payload[name]);
  return parsed.success ? parsed.data : unauthorized(`the bearer token's '${name}' claim ${must}`);
}

export class JwtAuth {
  readonly #keys: JWTVerifyGetKey;

  constructor(readonly options: JwtOptions) {
    this.#keys = /^https?:\/\//.test(options.jwks)
      ? createRemoteJWKSet(new URL(options.jwks))
      : createLocalJWKSet(JSON.parse(readFileSync(options.jwks, 'utf8')) as Parameters<typeof createLocalJWKSet>[0]);
  }

  async verify(token: string): Promise<Principal | LlmuxError> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        issuer: this.options.issuer, audience: this.options.audience, requiredClaims: this.options.allowNoExp ? [] : ['exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return unauthorized('the bearer token has expired');
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'exp' && error.reason === 'missing') {
        return unauthorized("the bearer token has no 'exp' claim: tokens must expire");
      }
      if (error instanceof errors.JWTClaimValidationFailed) return unauthorized(`the bearer token's '${error.claim}' claim is not accepted`);
      return unauthorized('the bearer token could not be verified');
    }
    const tenantClaim = this.options.tenantClaim ?? 'tenant';
    if (payload[tenantClaim] === undefined) return unauthorized(`the bearer token has no '${tenantClaim}' claim naming the tenant`);
    const tenant = claim(payload, tenantClaim, tenantSchema, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -');
    if (tenant instanceof LlmuxError) return tenant;
    const functionsClaim = this.options.functionsClaim ?? 'llmux_functions';
    const functions = payload[functionsClaim] === undefined
      ? ['*']
      : claim(payload, functionsClaim, grantedFunctionsSchema, 'must be an array of at most 256 function ids (or "*")');
    if (functions instanceof LlmuxError) return functions;
    const sub = payload.sub === undefined ? 'unknown' : claim(payload, 'sub', subjectClaimSchema, 'must be 1-128 printable ASCII characters without spaces');
    if (sub instanceof LlmuxError) return sub;
    return { tenant, keyId: `jwt:${sub}`, functions, via: 'jwt' };
  }
}
