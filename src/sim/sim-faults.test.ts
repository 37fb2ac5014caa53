// Failure paths over real HTTP: fault directives in the prompt, and 400s for bodies vLLM refuses.
import { describe, expect, it } from 'vitest';
import { cutAfterDirective, FAIL_DIRECTIVE } from './faults.js';
import { chatBody, post, simulators, readUntilCut } from './sim-test-support.js';

const startSim = simulators();


describe('sim faults', () => {
  it('fails with HTTP 500 and a vLLM error body on [[sim:fail]], streaming or not', async () => {
    const sim = await startSim();
    for (const stream of [false, true]) {
      const res = await post(sim, '/v1/chat/completions', chatBody(`x ${FAIL_DIRECTIVE}`, { stream }));
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'InternalServerError', param: null, code: 500 } });
    }
    expect(sim.stats()).toMatchObject({ requestsTotal: 2, aborted: 0, running: 0 });
  });

  it('cuts a stream after N tokens on [[sim:cut-after:N]], without [DONE], and counts no abort', async () => {
    const sim = await startSim();
    const res = await post(sim, '/v1/chat/completions', chatBody(`x ${cutAfterDirective(2)}`, { stream: true, max_tokens: 10 }));
    expect(res.status).toBe(200);
    const { text, broke } = await readUntilCut(res);
    expect(broke).toBe(true);
    expect(text).not.toContain('[DONE]');
    expect(text.match(/"content":"[^"]+"/g)).toHaveLength(2);
    expect(sim.stats()).toMatchObject({ aborted: 0, running: 0 });
  });

  it('completes normally when the cut comes after the last token', async () => {
    const sim = await startSim();
    const res = await post(sim, '/v1/completions', { prompt: `x ${cutAfterDirective(5)}`, stream: true, max_tokens: 5 });
    const { text, broke } = await readUntilCut(res);
    expect(broke).toBe(false);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('drops the connection before answering a non-streaming request with a cut directive', async () => {
    const sim = await startSim();
    await expect(post(sim, '/v1/completions', { prompt: `x ${cutAfterDirective(1)}`, max_tokens: 5 })).rejects.toThrow();
  });

  it('answers bad bodies with a 400 in vLLM’s error shape', async () => {
    const sim = await startSim();
    const cases: Array<[path: string, body: unknown, param: string | null]> = [
      ['/v1/chat/completions', '{"model": ', null],
      ['/v1/chat/completions', '[1, 2]', null],
      ['/v1/chat/completions', { model: 'm' }, null],
      ['/v1/chat/completions', { messages: [] }, null],
      ['/v1/completions', { model: 'm' }, null],
      ['/v1/completions', { prompt: '' }, 'prompt'],
      ['/v1/completions', { prompt: ['a', 'b'] }, 'prompt'],
      ['/v1/completions', { prompt: 'x', max_tokens: 0 }, 'max_tokens'],
      ['/v1/completions', { prompt: 'x', max_tokens: 2.5 }, 'max_tokens'],
      ['/v1/chat/completions', chatBody('x', { max_completion_tokens: -1 }), 'max_completion_tokens'],
      ['/v1/chat/completions', chatBody('x', { n: 2 }), 'n'],
      ['/v1/chat/completions', chatBody('x', { stream_options: { include_usage: true } }), 'stream_options'],
    ];
    for (const [path, body, param] of cases) {
      const res = await post(sim, path, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'BadRequestError', param, code: 400 } });
    }
    expect(sim.stats().requestsTotal).toBe(0);
  });
});
