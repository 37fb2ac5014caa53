// The pure-TypeScript ZeroMQ PUB/SUB pair over real loopback TCP, and vLLM's event payload codec:
// messages arrive whole and in order, topics filter, and hostile peers and payloads are dropped.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEventBatch, encodeEventBatch, KvEventDecodeError, readSeq, seqBytes } from './vllm-events.js';
import { bindPublisher, type ZmqPublisher } from './zmq-pub.js';
import { subscribe, type ZmqSubscriber } from './zmq-sub.js';

const until = async (check: () => boolean, what: string, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function pair(topic = ''): Promise<{ pub: ZmqPublisher; sub: ZmqSubscriber; got: Buffer[][] }> {
  const pub = await bindPublisher();
  const got: Buffer[][] = [];
  const sub = subscribe({ endpoint: `tcp://127.0.0.1:${pub.port}`, topic, onMessage: (parts) => got.push(parts) });
  cleanup.push(() => sub.close(), () => pub.close());
  await until(() => pub.subscribed === 1 && sub.connected, 'the subscriber');
  return { pub, sub, got };
}

describe('zmq pub/sub', () => {
  it('delivers multipart messages whole and in order, short and long frames alike', async () => {
    const { pub, got } = await pair();
    const big = Buffer.alloc(100_000, 7);
    for (let i = 1; i <= 50; i++) pub.send([Buffer.from('kv-events'), seqBytes(BigInt(i)), i % 10 === 0 ? big : Buffer.from(`m${i}`)]);
    await until(() => got.length === 50, '50 messages');
    expect(got.map((parts) => Number(readSeq(parts[1])))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(got[9]?.[2]?.equals(big)).toBe(true);
    expect(got[0]?.[2]?.toString()).toBe('m1');
  });

  it('sends only messages whose topic starts with the subscription', async () => {
    const { pub, got } = await pair('kv');
    pub.send([Buffer.from('other'), Buffer.from('no')]);
    pub.send([Buffer.from('kv-b'), Buffer.from('yes')]);
    await until(() => got.length === 1, 'one message');
    await new Promise((r) => setTimeout(r, 50));
    expect(got.map((p) => p[1]?.toString())).toEqual(['yes']);
  });

  it('drops a peer that is not a ZMTP publisher, counts it and keeps reconnecting', async () => {
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      cleanup.push(() => s.destroy());
      s.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const got: Buffer[][] = [];
    const sub = subscribe({ endpoint: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, onMessage: (p) => got.push(p), reconnectMs: 10 });
    cleanup.push(() => sub.close());
    await until(() => sub.protocolErrors >= 2 && connections >= 2, 'two rejected connections');
    expect(got).toEqual([]);
  });

  it('drops a frame announced larger than the limit', async () => {
    const server = createServer((s) => {
      const g = Buffer.alloc(64);
      g[0] = 0xff; g[9] = 0x7f; g[10] = 3; g.write('NULL', 12);
      const long = Buffer.alloc(9);
      long[0] = 0x02;
      long.writeBigUInt64BE(2n ** 40n, 1);
      cleanup.push(() => s.destroy());
      s.write(Buffer.concat([g, long]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const sub = subscribe({ endpoint: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, onMessage: () => {}, reconnectMs: 1000 });
    cleanup.push(() => sub.close());
    await until(() => sub.protocolErrors === 1, 'the oversized frame refused');
  });
});

describe('vLLM KV event payloads', () => {
  const events = [
    { type: 'BlockStored' as const, blockHashes: [2n ** 64n - 1n, 5n], parent: 2n ** 63n + 3n, tokenIds: [1, 2, 3, 4], blockSize: 2 },
    { type: 'BlockRemoved' as const, blockHashes: [42n] },
    { type: 'AllBlocksCleared' as const },
  ];
  const expected = [
    { type: 'stored', blocks: [(2n ** 64n - 1n).toString(), '5'], parent: (2n ** 63n + 3n).toString(), tokens: [1, 2, 3, 4] },
    { type: 'removed', blocks: ['42'] },
    { type: 'cleared' },
  ];

  it('round-trips both of vLLM\'s layouts, 64-bit hashes exactly', () => {
    for (const form of ['array', 'map'] as const) {
      const decoded = decodeEventBatch(encodeEventBatch(1767225600.25, events, form));
      expect(decoded).toEqual({ ts: 1767225600.25, events: expected, blockSize: 2, dataParallelRank: 0 });
    }
  });

  it('reads bytes hashes as hex and a first block without a parent', async () => {
    const { Packr } = await import('msgpackr');
    const payload = new Packr({ useRecords: false }).pack([1.5, [['BlockStored', [Buffer.from([0xab, 0xcd])], null, [9], 1, null, null]]]);
    expect(decodeEventBatch(payload).events).toEqual([{ type: 'stored', blocks: ['abcd'], tokens: [9] }]);
  });

  it('reads SGLang\'s layout: no medium, no data-parallel rank, one token per block (page size 1)', async () => {
    const { Packr } = await import('msgpackr');
    const payload = new Packr({ useRecords: false }).pack([2.5, [['BlockStored', [11, 12], 10, [5, 6], 1, null], ['BlockRemoved', [11]]]]);
    expect(decodeEventBatch(payload)).toEqual({ ts: 2.5, blockSize: 1, events: [{ type: 'stored', blocks: ['11', '12'], parent: '10', tokens: [5, 6] }, { type: 'removed', blocks: ['11'] }] });
  });

  it('never throws anything but its own errors, whatever the bytes (seeded fuzz)', async () => {
    const fc = await import('fast-check');
    const { ZmtpError, ZmtpReader } = await import('./zmtp.js');
    const g = Buffer.alloc(64);
    g[0] = 0xff; g[9] = 0x7f; g[10] = 3; g.write('NULL', 12);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, greeted) => {
      try {
        decodeEventBatch(bytes);
      } catch (error) {
        if (!(error instanceof KvEventDecodeError)) throw error;
      }
      try {
        new ZmtpReader(1024).push(Buffer.concat([greeted ? g : Buffer.alloc(0), Buffer.from(bytes)]));
      } catch (error) {
        if (!(error instanceof ZmtpError)) throw error;
      }
    }), { seed: 20261201, numRuns: 2000 });
  });

  it('refuses garbage, wrong shapes and token counts that do not fill the blocks', async () => {
    const { Packr } = await import('msgpackr');
    const pack = (v: unknown): Uint8Array => new Packr({ useRecords: false }).pack(v);
    for (const payload of [
      Buffer.from([0xc1]), // never used in msgpack
      pack('hello'),
      pack([1, 'not a list']),
      pack([1, [['BlockStored', [1], null, [1, 2, 3], 2, null, null]]]),
      pack([1, [['BlockStored', [1.5], null, [1, 2], 2, null, null]]]),
      pack([1, [['BlockStored', [1], null, [1, -2], 2, null, null]]]),
      pack([1, [['Mystery']]]),
      pack({ ts: 'now', events: [] }),
    ]) expect(() => decodeEventBatch(payload)).toThrow(KvEventDecodeError);
  });
});
