/**
 * Who is calling (`Authorization: Bearer <credential>`), in this order: a JWT when one is
 * configured and the credential looks like one; a key from the API key store; a static `--api-key`.
 * Whether a credential is required is the deployment's `mode`, fixed at start (auth-mode.ts). A
 * credential that fails is refused in either mode, so a revoked key never becomes `anonymous`; in
 * `off` mode only a bearer that is not an llmux key or a JWT (an SDK's placeholder) counts as none.
 * Credentials are compared as SHA-256 hashes, in constant time for static keys, and never logged.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, LlmuxError } from '../errors.js';
import { type ApiKeyStore, isStoredKeySecret, sha256Hex } from './api-key-store.js';
import type { AuthMode } from './auth-mode.js';
import { JwtAuth, type JwtOptions, looksLikeJwt } from './jwt-auth.js';
import { anonymous, type Principal } from './principal.js';

export interface AuthenticatorOptions {
  /** Whether callers must present a credential (default `required`). */
  mode?: AuthMode;
  /** `--api-key`: keys for the `default` tenant, every function. */
  staticKeys?: readonly string[];
  store?: ApiKeyStore;
  jwt?: JwtOptions;
}

const unauthorized = (message: string): LlmuxError => new LlmuxError({ code: ErrorCode.invalidApiKey, retryable: false, message });

export function bearer(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}

export class Authenticator {
  readonly #static: Buffer[];
  readonly #jwt: JwtAuth | undefined;
  readonly mode: AuthMode;

  constructor(readonly options: AuthenticatorOptions) {
    this.mode = options.mode ?? 'required';
    this.#static = (options.staticKeys ?? []).map((k) => Buffer.from(sha256Hex(k), 'hex'));
    this.#jwt = options.jwt ? new JwtAuth(options.jwt) : undefined;
  }

  /**
   * A request's credential: `Authorization: Bearer`, or on an operation whose clients send their key
   * in `keyHeader` (Anthropic's `x-api-key`) that key, as a bearer. Both headers at once must carry
   * the same credential, and a key header that is not one token is refused, never read as none.
   */
  async authenticateRequest(headers: IncomingHttpHeaders, keyHeader?: string): Promise<Principal | LlmuxError> {
    const key = keyHeader ? headers[keyHeader] : undefined;
    if (key === undefined) {
      const missing = keyHeader !== undefined && headers.authorization === undefined && this.mode === 'required';
      return missing ? unauthorized(`missing credentials: send \`${keyHeader}: <API key>\` or \`Authorization: Bearer <API key or token>\``) : this.authenticate(headers.authorization);
    }
    if (typeof key !== 'string' || !/^\S+$/.test(key.trim())) return unauthorized(`'${keyHeader}' must be one API key`);
    if (headers.authorization !== undefined && bearer(headers.authorization) !== key.trim()) return unauthorized(`'${keyHeader}' and Authorization carry different credentials; send one`);
    return this.authenticate(`Bearer ${key.trim()}`);
  }

  async authenticate(authorization: string | undefined): Promise<Principal | LlmuxError> {
    const credential = bearer(authorization);
    if (!credential) {
      return this.mode === 'required' ? unauthorized('missing credentials: send `Authorization: Bearer <API key or token>`') : anonymous;
    }
    if (this.#jwt && looksLikeJwt(credential)) return this.#jwt.verify(credential);
    const stored = this.options.store?.lookup(credential);
    if (stored) {
      return {
        tenant: stored.tenant, keyId: stored.keyId, functions: stored.functions, via: 'api-key',
        ...(stored.tokenRateLimit ? { tokenRateLimit: stored.tokenRateLimit } : {}),
        ...(stored.requestRateLimit ? { requestRateLimit: stored.requestRateLimit } : {}),
        ...(stored.debug ? { debug: true } : {}),
      };
    }
    const hex = sha256Hex(credential);
    const hash = Buffer.from(hex, 'hex');
    // Each static key its own id (a fingerprint of its hash, never the key): limits, ledger records
    // and stream resumes tell them apart.
    if (this.#static.some((h) => timingSafeEqual(h, hash))) return { tenant: 'default', keyId: `static-${hex.slice(0, 12)}`, functions: ['*'], via: 'static-key' };
    if (this.mode === 'off' && !isStoredKeySecret(credential)) return anonymous;
    return unauthorized('invalid API key');
  }
}

/** The admin credential (`--admin-key` or LLMUX_ADMIN_KEY): without one, the admin API is off. */
export class AdminAuth {
  readonly #hash: Buffer | undefined;

  constructor(adminKey: string | undefined) {
    this.#hash = adminKey ? Buffer.from(sha256Hex(adminKey), 'hex') : undefined;
  }

  check(authorization: string | undefined): LlmuxError | undefined {
    if (!this.#hash) return unauthorized('the admin API is off: start llmux with --admin-key KEY (or LLMUX_ADMIN_KEY)');
    const credential = bearer(authorization);
    if (!credential) return unauthorized('missing admin credentials: send `Authorization: Bearer <admin key>`');
    return timingSafeEqual(this.#hash, Buffer.from(sha256Hex(credential), 'hex')) ? undefined : unauthorized('invalid admin key');
  }
}
