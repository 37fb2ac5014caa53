// The stream journal against a real nats-server (2.9) on a random loopback port.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Journal, Subscription } from '../transport.js';
import { connectNats, type NatsTransport } from './nats-transport.js';
import { type NatsServerHandle, startNatsServer } from './nats-server-process.js';

let server: NatsServerHandle;
let writer: NatsTransport;
let reader: NatsTransport;
let admin: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  writer = await connectNats({ servers: server.url, name: 'journal-writer' });
  reader = await connectNats({ servers: server.url, name: 'journal-reader' });
  admin = await connect({ servers: server.url, name: 'journal-admin' });
});

afterAll(async () => {
  await writer?.close();
  await reader?.close();
  await admin?.close();
  await server?.stop();
});

const options = (prefix: string) => ({ subjectPrefix: prefix, maxAgeMs: 60_000, maxBytes: 1024 * 1024 });

/** Follows `key` and returns what arrived once `sentinel` (appended after following began) is seen: the replay. */
async function replayOf(journal: Journal, key: string): Promise<unknown[]> {
  const got: unknown[] = [];
  const sub = await journal.follow(key, (body) => got.push(body));
  await journal.append(key, 'sentinel');
  await vi.waitFor(() => expect(got.at(-1)).toBe('sentinel'), { timeout: 5_000 });
  sub.unsubscribe();
  return got.slice(0, -1);
}

describe('nats journal', () => {
  it('replays what was appended before following, in order', async () => {
    const w = await writer.journal('J_REPLAY', options('t.replay'));
    for (let i = 0; i < 50; i++) await w.append('s1', { n: i, text: `data: ${i}\n\n` });
    const r = await reader.journal('J_REPLAY', options('t.replay'));
    const got: unknown[] = [];
    const sub = await r.follow('s1', (body) => got.push(body));
    await vi.waitFor(() => expect(got).toHaveLength(50), { timeout: 5_000 });
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => ({ n: i, text: `data: ${i}\n\n` })));
    sub.unsubscribe();
  });

  it('keeps delivering entries appended after following began, live', async () => {
    const w = await writer.journal('J_LIVE', options('t.live'));
    const r = await reader.journal('J_LIVE', options('t.live'));
    await w.append('s', 0);
    const got: unknown[] = [];
    const sub = await r.follow('s', (body) => got.push(body));
    await vi.waitFor(() => expect(got).toEqual([0]), { timeout: 5_000 });
    for (let i = 1; i <= 3; i++) {
      await sleep(300); // quiet gaps: a fetch-until-caught-up reader would have stopped here
      await w.append('s', i);
      await vi.waitFor(() => expect(got).toHaveLength(i + 1), { timeout: 5_000 });
    }
    expect(got).toEqual([0, 1, 2, 3]);
    sub.unsubscribe();
    await w.append('s', 4);
    await sleep(300);
    expect(got).toEqual([0, 1, 2, 3]);
  });

  it('keeps keys apart, even keys made of ".", "*" and ">"', async () => {
    const j = await writer.journal('J_KEYS', options('t.keys'));
    const keys = ['a', 'a.b', 'a.*', 'a.>', '>', '*', ''];
    for (const key of keys) await j.append(key, `only ${key}`);
    const r = await reader.journal('J_KEYS', options('t.keys'));
    for (const key of keys) expect(await replayOf(r, key)).toEqual([`only ${key}`]);
  });

  it('drops entries older than maxAgeMs', async () => {
    const j = await writer.journal('J_AGE', { subjectPrefix: 't.age', maxAgeMs: 500, maxBytes: 1024 * 1024 });
    await j.append('s', 'old');
    expect(await replayOf(j, 's')).toEqual(['old']);
    await sleep(1_200);
    expect(await replayOf(j, 's')).toEqual([]);
  });

  it('holds at most maxBytes, dropping the oldest entries first', async () => {
    const maxBytes = 4_096;
    const j = await writer.journal('J_BYTES', { subjectPrefix: 't.bytes', maxAgeMs: 60_000, maxBytes });
    const body = 'x'.repeat(100);
    for (let i = 0; i < 200; i++) await j.append('s', { i, body });
    const got = (await replayOf(j, 's')) as Array<{ i: number }>;
    expect(got.length).toBeGreaterThan(0);
    expect(got.length * body.length).toBeLessThan(maxBytes);
    expect(got.map((e) => e.i)).toEqual(Array.from({ length: got.length }, (_, k) => 200 - got.length + k)); // the newest, in order
    const info = await (await jetstreamManager(admin)).streams.info('J_BYTES');
    expect(info.state.bytes).toBeLessThanOrEqual(maxBytes);
  });

  it('creates a memory stream, applies changed limits when reopened, and removes a follower on unsubscribe', async () => {
    const jsm = await jetstreamManager(admin);
    const j = await writer.journal('J_CONF', { subjectPrefix: 't.conf', maxAgeMs: 60_000, maxBytes: 65_536 });
    let info = await jsm.streams.info('J_CONF');
    expect(info.config).toMatchObject({ storage: 'memory', subjects: ['t.conf.>'], max_bytes: 65_536, discard: 'old', max_age: 60_000 * 1e6 });
    await reader.journal('J_CONF', { subjectPrefix: 't.conf', maxAgeMs: 30_000, maxBytes: 32_768 });
    info = await jsm.streams.info('J_CONF');
    expect(info.config).toMatchObject({ storage: 'memory', max_bytes: 32_768, max_age: 30_000 * 1e6 });
    const subs: Subscription[] = [];
    for (let i = 0; i < 3; i++) subs.push(await j.follow(`k${i}`, () => undefined));
    expect((await jsm.streams.info('J_CONF')).state.consumer_count).toBe(3);
    for (const s of subs) s.unsubscribe();
    await vi.waitFor(async () => expect((await jsm.streams.info('J_CONF')).state.consumer_count).toBe(0), { timeout: 5_000 });
  });

  it('refuses to follow a journal whose stream is gone, without hanging', async () => {
    const j = await writer.journal('J_GONE', options('t.gone'));
    await (await jetstreamManager(admin)).streams.delete('J_GONE');
    const started = Date.now();
    await expect(j.follow('s', () => undefined)).rejects.toThrow();
    await expect(j.append('s', 1)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(12_000);
  });
});
