// Resumable streams: a client that loses its connection comes back with Last-Event-ID, to another
// gateway replica, and reads the rest, including what was generated while it was away. On a real
// nats-server (the journal is a JetStream stream) with real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { startTestStack, testApiKey } from './support/stack.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ workers: 2, gateways: 2, apiKeys: [testApiKey, 'sk-someone-else'], sim: { itlMs: 10 } });
});
afterAll(async () => {
  await stack?.stop();
});

interface Events {
  ids: string[];
  text: string;
  done: boolean;
  error: boolean;
}

/** Reads SSE events from `res`, stopping (and dropping the connection) after `stopAfter` content events. */
async function readEvents(res: Response, stopAfter = Infinity): Promise<Events> {
  const out: Events = { ids: [], text: '', done: false, error: false };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let content = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, cut).split('\n');
      buffer = buffer.slice(cut + 2);
      const id = lines.find((l) => l.startsWith('id: '))?.slice(4);
      if (id) out.ids.push(id);
      if (lines.includes('event: error')) out.error = true;
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
      if (data === '[DONE]') out.done = true;
      else if (data) {
        const piece = (JSON.parse(data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content;
        if (piece) {
          out.text += piece;
          if (++content >= stopAfter) {
            await reader.cancel();
            return out;
          }
        }
      }
    }
  }
}

const ask = (gateway: string, content: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: stack.models[0], stream: true, max_tokens: 80, messages: [{ role: 'user', content }] }),
  });

describe('resumable streams', () => {
  it('gives every SSE event an id, and a stream resumed on another gateway after a lost connection reads exactly the rest', async () => {
    const prompt = `a story to resume ${Date.now()}`;
    const whole = await readEvents(await ask(stack.gatewayUrl, prompt));
    expect(whole.done).toBe(true);
    expect(whole.ids.length).toBeGreaterThan(80);
    expect(new Set(whole.ids).size).toBe(whole.ids.length);

    const first = await ask(stack.gatewayUrl, prompt, { 'x-llmux-resumable': '1' });
    const streamId = first.headers.get('x-llmux-stream-id');
    expect(streamId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const before = await readEvents(first, 10);
    // Away for a while: the answer keeps being generated meanwhile.
    await new Promise((r) => setTimeout(r, 400));
    const again = await fetch(`${stack.gateways[1]!.url}/v1/streams/${streamId}`, {
      headers: { authorization: `Bearer ${testApiKey}`, 'last-event-id': before.ids.at(-1)! },
    });
    expect(again.status).toBe(200);
    const rest = await readEvents(again);
    expect(rest.done).toBe(true);
    expect(rest.error).toBe(false);
    expect(before.text + rest.text).toBe(whole.text);
    expect(rest.ids[0]).toBe(`${streamId}.${Number(before.ids.at(-1)!.split('.').pop()) + 1}`);
  });

  it('resumes through the original request sent again with Last-Event-ID', async () => {
    const first = await ask(stack.gatewayUrl, 'resume by repeating the request', { 'x-llmux-resumable': '1' });
    const before = await readEvents(first, 5);
    const rest = await readEvents(await ask(stack.gatewayUrl, 'resume by repeating the request', { 'last-event-id': before.ids.at(-1)! }));
    expect(rest.done).toBe(true);
    expect((before.text + rest.text).split(' ')).toHaveLength(80);
  });

  it('answers 404 to another credential, and to an id that does not exist, alike', async () => {
    const first = await ask(stack.gatewayUrl, 'not yours', { 'x-llmux-resumable': '1' });
    const streamId = first.headers.get('x-llmux-stream-id')!;
    await readEvents(first, 3);
    const stranger = await fetch(`${stack.gatewayUrl}/v1/streams/${streamId}`, { headers: { authorization: 'Bearer sk-someone-else' } });
    const unknown = await fetch(`${stack.gatewayUrl}/v1/streams/AAAAAAAAAAAAAAAAAAAAAA`, { headers: { authorization: `Bearer ${testApiKey}` } });
    expect(stranger.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(await stranger.json()).toEqual(await unknown.json());
    const anonymous = await fetch(`${stack.gatewayUrl}/v1/streams/${streamId}`);
    expect(anonymous.status).toBe(401);
  });

  it('cancels a stream that is not resumable when its client drops, as before', async () => {
    const res = await ask(stack.gatewayUrl, 'not resumable, cancel me');
    expect(res.headers.get('x-llmux-stream-id')).toBeNull();
    await readEvents(res, 3);
    const held = (): number => stack.workers.reduce((n, w) => n + w.inFlight(), 0);
    const started = Date.now();
    while (held() > 0 && Date.now() - started < 3_000) await new Promise((r) => setTimeout(r, 20));
    expect(held()).toBe(0);
  });
});
