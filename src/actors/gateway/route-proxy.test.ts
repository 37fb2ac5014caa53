import { describe, expect, it } from 'vitest';
import { engineHttpError, engineRequestError, engineStreamCut, engineTimeout } from '../../engine-adapters/engine-errors.js';
import { retryClass } from './route-proxy.js';

describe('route retries - which failures fall in which retryOn class', () => {
  it('classes engine failures as 429, 5xx or connect-failure, and never retries a client error', () => {
    expect(retryClass(engineHttpError('openai', 429, '{"error":{"message":"slow down"}}'))).toBe('429');
    expect(retryClass(engineHttpError('openai', 503, 'overloaded'))).toBe('5xx');
    expect(retryClass(engineTimeout('vllm'))).toBe('5xx');
    expect(retryClass(engineRequestError('vllm', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })))).toBe('connect-failure');
    expect(retryClass(engineStreamCut('vllm'))).toBe('5xx');
    expect(retryClass(engineHttpError('openai', 400, '{"error":{"message":"bad"}}'))).toBeUndefined();
  });
});
