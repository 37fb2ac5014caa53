/**
 * Client authentication by API key (`Authorization: Bearer <key>`). Keys are held only as SHA-256
 * hashes and compared in constant time; a key is never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, LlmuxError } from '../../errors.js';

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export class ApiKeyAuth {
  readonly #hashes: Buffer[];

  constructor(keys: readonly string[]) {
    this.#hashes = keys.map(hashApiKey);
  }

  get enabled(): boolean {
    return this.#hashes.length > 0;
  }

  /** Undefined when the request may proceed, else the 401 to send. */
  check(authorization: string | undefined): LlmuxError | undefined {
    if (!this.enabled) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      return new LlmuxError({ code: ErrorCode.invalidApiKey, retryable: false,
        message: 'missing API key: send it as `Authorization: Bearer <key>`' });
    }
    const hash = hashApiKey(match[1]);
    if (this.#hashes.some((h) => timingSafeEqual(h, hash))) return undefined;
    return new LlmuxError({ code: ErrorCode.invalidApiKey, retryable: false, message: 'invalid API key' });
  }
}
