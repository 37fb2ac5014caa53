import { describe, expect, it } from 'vitest';
import { engineFailureDetail, engineGarbled, engineHttpError, engineReportedError, engineRequestError, isEngineRequestFailure } from './engine-errors.js';

const refused = (address: string): Error => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });

describe("engine errors - a client reads llmux's words, the log the engine's", () => {
  it('names a refused connection without its address, and keeps the address for the log', () => {
    const error = engineRequestError('vllm', refused('10.1.2.3:8000'));
    expect(error.message).toBe('the vllm engine request failed (connection refused)');
    expect(engineFailureDetail(error)).toContain('ECONNREFUSED: connect ECONNREFUSED 10.1.2.3:8000');
    expect(isEngineRequestFailure(error)).toBe(true);
  });

  it("keeps each address of a name's connect attempts for the log", () => {
    const cause = Object.assign(new AggregateError([refused('127.0.0.1:9'), refused('[::1]:9')], ''), { code: 'ECONNREFUSED' });
    const error = engineRequestError('vllm', cause);
    expect(error.message).toBe('the vllm engine request failed (connection refused)');
    expect(engineFailureDetail(error)).toContain('127.0.0.1:9');
    expect(engineFailureDetail(error)).toContain('[::1]:9');
  });

  it("says what an engine-side status means, never the provider's body", () => {
    const body = '{"error":{"message":"Incorrect API key provided: sk-proj-****wxyz.","type":"invalid_request_error","code":"invalid_api_key"}}';
    const error = engineHttpError('openai', 401, body);
    expect(error.toInfo()).toEqual({ code: 'upstream_error', retryable: true, upstreamStatus: 401, message: 'the openai engine answered 401 (it rejected the credentials)' });
    expect(engineFailureDetail(error)).toContain('sk-proj-****wxyz');
    expect(isEngineRequestFailure(error)).toBe(false);
  });

  it("passes the request's own fault on, with addresses and key-like strings cut out", () => {
    const body = '{"error":{"message":"image_url http://10.0.0.5:8000/a.png unreachable from 10.0.0.6, key sk-abcdef123456 (sk-ab***56)","param":"messages"}}';
    const error = engineHttpError('vllm', 400, body);
    expect(error).toMatchObject({ code: 'invalid_request', param: 'messages', upstreamStatus: 400 });
    expect(error.message).toBe('image_url (address) unreachable from (address), key (redacted) ((redacted))');
    expect(engineFailureDetail(error)).toContain('http://10.0.0.5:8000/a.png');
  });

  it('keeps what an engine reported mid-answer, or sent garbled, for the log only', () => {
    for (const error of [engineReportedError('sglang', 'worker 10.0.0.9:30000 died'), engineGarbled('sglang', '{"addr":"10.0.0.9:30000"')]) {
      expect(error.message).not.toContain('10.0.0.9');
      expect(engineFailureDetail(error)).toContain('10.0.0.9:30000');
    }
  });
});
