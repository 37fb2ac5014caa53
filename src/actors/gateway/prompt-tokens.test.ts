import { describe, expect, it } from 'vitest';
import { contextLengthError, requestedMaxTokens } from './prompt-tokens.js';
import type { ValidatedRequest } from './request-schema.js';

const chat = (body: Record<string, unknown>): ValidatedRequest => ({ operation: 'chat', model: 'f/m', stream: false, includeUsage: false, body });

describe('context length check', () => {
  it('passes a request that fits exactly', () => {
    expect(contextLengthError({ total: 900, longest: 900 }, 100, 1000, chat({}))).toBeUndefined();
  });

  it('refuses one token over, naming max_tokens and giving the numbers', () => {
    const error = contextLengthError({ total: 901, longest: 901 }, 100, 1000, chat({}));
    expect(error?.toInfo()).toMatchObject({ code: 'invalid_request', param: 'max_tokens', retryable: false });
    expect(error?.message).toContain('maximum context length is 1000 tokens');
    expect(error?.message).toContain('you requested 1001 tokens (901 in the messages, 100 in the completion)');
  });

  it('without max_tokens, refuses a prompt that leaves no room for one token', () => {
    expect(contextLengthError({ total: 999, longest: 999 }, undefined, 1000, chat({}))).toBeUndefined();
    expect(contextLengthError({ total: 1000, longest: 1000 }, undefined, 1000, chat({}))?.toInfo().param).toBe('messages');
  });

  it('checks the longest of several completion prompts, not their sum', () => {
    const completion: ValidatedRequest = { ...chat({}), operation: 'completion' };
    expect(contextLengthError({ total: 1500, longest: 600 }, 100, 1000, completion)).toBeUndefined();
  });

  it('checks only the max_tokens ceiling when the model has no context length', () => {
    expect(contextLengthError({ total: 10 ** 9, longest: 10 ** 9 }, 100, undefined, chat({}))).toBeUndefined();
    expect(contextLengthError({ total: 10, longest: 10 }, 32_768, undefined, chat({}))).toBeUndefined();
    const tooMany = contextLengthError({ total: 10, longest: 10 }, 32_769, undefined, chat({}))?.toInfo();
    expect(tooMany?.param).toBe('max_tokens');
    expect(tooMany?.message).toMatch(/32768/);
    expect(contextLengthError({ total: 10, longest: 10 }, 500, undefined, chat({}), 400)?.toInfo().param).toBe('max_tokens');
  });

  it('prefers max_completion_tokens over max_tokens', () => {
    expect(requestedMaxTokens(chat({ max_tokens: 10, max_completion_tokens: 20 }))).toBe(20);
    expect(requestedMaxTokens(chat({ max_tokens: 10 }))).toBe(10);
    expect(requestedMaxTokens(chat({}))).toBeUndefined();
  });
});
