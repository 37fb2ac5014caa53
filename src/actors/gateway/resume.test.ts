// serveResume over the memory journal, behind a real node:http server on 127.0.0.1.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../observability/logger.js';
import type { Principal } from '../../policy/principal.js';
import { MemoryBus } from '../../transport/memory/memory-transport.js';
import type { Journal } from '../../transport/transport.js';
import { type ResumeContext, serveResume } from './resume.js';
import { JournalWriter, newStreamId, ownerOf, parseSseId, sseId } from './stream-journal.js';

const principal = (keyId: string): Principal => ({ tenant: 'acme', keyId, functions: ['*'], via: 'api-key' });
const log = silentLogger();

let server: Server;
let base: string;
let journal: Journal;
let ctx: ResumeContext;
let served: Array<Promise<void>>;
let writers: JournalWriter[];

beforeAll(async () => {
  server = createServer((req, res) => {
    const streamId = /^\/v1\/streams\/([^/]+)$/.exec(req.url ?? '')?.[1] ?? '';
    const last = req.headers['last-event-id'];
    const lastEventId = typeof last === 'string' ? parseSseId(last)?.id : undefined;
    served.push(serveResume(ctx, principal(String(req.headers['x-test-key'] ?? 'key-1')), streamId, lastEventId, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  journal = await new MemoryBus().connect('gw').journal('J', { subjectPrefix: 'j', maxAgeMs: 60_000, maxBytes: 1 << 20 });
  ctx = { journal, log, idleMs: 300, openWaitMs: 200 };
  served = [];
  writers = [];
});

afterEach(() => {
  for (const w of writers) w.end();
});

const chunk = (i: number) => `data: {"choices":[{"index":0,"delta":{"content":"t${i}"}}]}\n\n`;

/** A stream written by "another gateway": open, events 1..n, and end unless told not to. */
async function writeStream(n: number, options: { end?: boolean; keyId?: string; aliveEveryMs?: number } = {}) {
  const streamId = newStreamId();
  const w = new JournalWriter(journal, streamId, ownerOf(principal(options.keyId ?? 'key-1')), log, { aliveEveryMs: options.aliveEveryMs ?? 60_000 });
  writers.push(w);
  w.open('req-42');
  for (let i = 1; i <= n; i++) w.event(i, chunk(i));
  if (options.end !== false) w.end();
  await w.settled();
  return { streamId, w };
}

const expected = (streamId: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => `id: ${sseId(streamId, from + k)}\n${chunk(from + k)}`).join('');

async function get(streamId: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/v1/streams/${streamId}`, { headers, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('stream resume', () => {
  it('replays exactly the events after Last-Event-ID, with their ids, and ends at the end', async () => {
    const { streamId } = await writeStream(5);
    const r = await get(streamId, { 'last-event-id': sseId(streamId, 2) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('x-accel-buffering')).toBe('no');
    expect(r.headers.get('x-request-id')).toBe('req-42');
    expect(r.text).toBe(expected(streamId, 3, 5));
  });

  it('replays every event without Last-Event-ID, and nothing after the last one', async () => {
    const { streamId } = await writeStream(3);
    expect((await get(streamId)).text).toBe(expected(streamId, 1, 3));
    expect((await get(streamId, { 'last-event-id': sseId(streamId, 3) })).text).toBe('');
  });

  it('follows a stream still being written, live, until its end', async () => {
    const { streamId, w } = await writeStream(2, { end: false, aliveEveryMs: 50 });
    const answer = get(streamId, { 'last-event-id': sseId(streamId, 1) });
    await sleep(500); // longer than idleMs: the writer's alive entries keep the resume open
    w.event(3, chunk(3));
    w.end();
    const r = await answer;
    expect(r.status).toBe(200);
    expect(r.text).toBe(expected(streamId, 2, 3));
  });

  it('answers a stream of another principal exactly as an unknown one: 404 not_found', async () => {
    const { streamId } = await writeStream(2, { keyId: 'key-owner' });
    const theirs = await get(streamId, { 'x-test-key': 'key-other' });
    const unknown = await get(newStreamId(), { 'x-test-key': 'key-other' });
    expect(theirs.status).toBe(404);
    expect(JSON.parse(theirs.text)).toEqual({ error: { message: 'no resumable stream with this id', type: 'not_found_error', code: 'not_found', param: null } });
    expect(unknown.status).toBe(theirs.status);
    expect(unknown.text).toBe(theirs.text);
    expect(unknown.headers.get('content-type')).toBe(theirs.headers.get('content-type'));
    expect((await get(streamId, { 'x-test-key': 'key-owner' })).status).toBe(200);
  });

  it('answers 404 when the open entry is gone from the journal, since ownership cannot be shown', async () => {
    const streamId = newStreamId();
    await journal.append(streamId, { type: 'event', id: 7, text: chunk(7) });
    expect((await get(streamId)).status).toBe(404);
  });

  it('ends with an SSE error event when the journal goes quiet: the gateway writing it is gone', async () => {
    const { streamId } = await writeStream(2, { end: false });
    const started = Date.now();
    const r = await get(streamId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(r.status).toBe(200);
    expect(r.text.startsWith(expected(streamId, 1, 2))).toBe(true);
    const tail = r.text.slice(expected(streamId, 1, 2).length);
    expect(tail).toMatch(/^event: error\ndata: .*\n\n$/);
    expect(JSON.parse(tail.split('\n')[1]?.slice('data: '.length) ?? '')).toMatchObject({ error: { code: 'upstream_error', message: expect.stringContaining('stopped writing') } });
  });

  it('stops following when the client goes away', async () => {
    const unsubscribed = vi.fn();
    const { streamId } = await writeStream(1, { end: false, aliveEveryMs: 50 });
    ctx = {
      ...ctx,
      journal: {
        append: (k, b) => journal.append(k, b),
        follow: async (k, on) => {
          const sub = await journal.follow(k, on);
          return { unsubscribe: () => (unsubscribed(), sub.unsubscribe()) };
        },
      },
    };
    const abort = new AbortController();
    const res = await fetch(`${base}/v1/streams/${streamId}`, { signal: abort.signal });
    expect(res.status).toBe(200);
    abort.abort();
    await vi.waitFor(() => expect(unsubscribed).toHaveBeenCalledTimes(1), { timeout: 2_000 });
    await served[0];
  });

  it('answers 502, without hanging, when the journal cannot be followed', async () => {
    ctx = { ...ctx, journal: { append: async () => undefined, follow: () => Promise.reject(new Error('no JetStream')) } };
    const r = await get(newStreamId());
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'upstream_error' } });
  });
});
