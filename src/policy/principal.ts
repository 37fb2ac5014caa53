/** Who is calling: what authentication established, and what the rest of the gateway checks against. */
import { z } from 'zod';
import { idSchema } from '../control/function.schema.js';

export interface Principal {
  tenant: string;
  /** The API key's id, or `jwt:<sub>` for a bearer token, or `static-<fingerprint>` for a `--api-key` key. */
  keyId: string;
  /** Function ids this caller may use; `*` for all. */
  functions: readonly string[];
  via: 'anonymous' | 'static-key' | 'api-key' | 'jwt';
  /** Limits attached to the key itself (limit-spec.ts syntax). */
  tokenRateLimit?: string;
  requestRateLimit?: string;
  /** May see debug headers (which worker, backend, route served it): the operator's own keys and keys created with `debug`. */
  debug?: boolean;
}

/**
 * Whether `x-llmux-debug: 1` is honoured for this caller. Debug headers name workers, backends and
 * routes: the operator's (`--api-key` keys, or an open local stack), and keys made with `debug: true`.
 */
export const mayDebug = (p: Principal): boolean => p.debug === true || p.via === 'static-key' || p.via === 'anonymous';

/**
 * A tenant id from any credential. The tenant names a NATS subject (`llmux.usage.<tenant>`, each
 * unsafe byte written as three characters), a limiter scope and ledger records, so it is bounded
 * here, where a principal is made: a 5,000-character tenant once made the ledger's subject exceed
 * nats-server's line limit, and the server dropped the gateway's connection every few seconds.
 */
export const tenantSchema = z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -');
/** Function ids a credential grants: `*` for all; never a string standing for a list. */
export const grantedFunctionsSchema = z.array(z.union([idSchema, z.literal('*')])).max(256);
/** Printable ASCII without spaces, bounded: what a JWT `sub` may be to name a key. */
export const subjectClaimSchema = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable ASCII characters without spaces');

export const anonymous: Principal = { tenant: 'anonymous', keyId: 'anonymous', functions: ['*'], via: 'anonymous' };

export function mayUse(principal: Principal, functionId: string): boolean {
  return principal.functions.includes('*') || principal.functions.includes(functionId);
}
