// The request session serving an embeddings request: vectors assembled from several frames into one
// answer, and a worker whose vectors do not make a whole answer (too few, out of range, chat deltas
// instead) retried on another worker before anything reaches the client.
import { describe, expect, it } from 'vitest';
import { packVectors } from '../../protocol/vectors.js';
import type { Inbound } from '../../transport/transport.js';
import type { ReplyFrame } from './reply.protocol.js';
import { sessionWiring, testSession } from './session-test-support.js';


const vectors = [[0.5, -0.25], [0.125, 1], [0, -1]];
const input = ['a', 'b', 'c'];

function start(encodingFormat: 'float' | 'base64' = 'float') {
  const wiring = sessionWiring();
  const { dispatches, live, ends, res } = wiring;
  const session = testSession(wiring, { operation: 'embeddings', stream: false, body: { input, encoding_format: encodingFormat } });
  const deliver = (reply: string, frame: ReplyFrame): void => {
    if (live.has(reply)) session.onMessage({ subject: reply, reply: undefined, headers: {}, body: frame, noResponders: false, raw: new Uint8Array() } as Inbound);
  };
  /** Worker `n` accepts the latest dispatch and sends `frames` (sequence numbers added), then `end`. */
  const answer = (n: number, frames: Array<Omit<Extract<ReplyFrame, { type: 'vectors' | 'chunk' }>, 'seq'>>): void => {
    const { reply } = dispatches.at(-1)!;
    deliver(reply, { type: 'accepted', requestId: 'r1', workerId: `w${n}` });
    let seq = 0;
    for (const f of frames) deliver(reply, { ...f, seq: seq++ } as ReplyFrame);
    deliver(reply, { type: 'end', seq, completionTokens: 0, usage: { promptTokens: 5 } });
  };
  session.dispatch();
  return { dispatches, ends, res, answer };
}

const blocks = (vs: number[][], perFrame: number) => packVectors(vs, perFrame * vs[0]!.length * 8).map((b) => ({ type: 'vectors' as const, ...b }));

describe('request session - embeddings', () => {
  it('assembles vectors from several frames into one answer, with the engine\'s token count and completion 0', () => {
    const s = start();
    s.answer(0, blocks(vectors, 2));
    expect(s.res.status).toBe(200);
    expect(JSON.parse(s.res.body)).toEqual({
      object: 'list', model: 'demo/m', usage: { prompt_tokens: 5, total_tokens: 5 },
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    });
    expect(s.ends).toEqual([expect.objectContaining({ outcome: 'ok', status: 200, promptTokens: 5, completionTokens: 0, workerId: 'w0' })]);
  });

  it('renders base64 as float32 little-endian', () => {
    const s = start('base64');
    s.answer(0, blocks(vectors, 3));
    const data = (JSON.parse(s.res.body) as { data: Array<{ embedding: string }> }).data;
    expect(data.map((d) => { const b = Buffer.from(d.embedding, 'base64'); return [b.readFloatLE(0), b.readFloatLE(4)]; })).toEqual(vectors);
  });

  it.each([
    ['too few vectors', blocks(vectors.slice(0, 2), 2)],
    ['a vector beyond the inputs', [...blocks(vectors, 3), { ...blocks([[1, 1]], 1)[0]!, first: 3 }]],
    ['chat deltas instead of vectors', [{ type: 'chunk' as const, deltas: [{ index: 0, text: 'hi' }] }]],
  ])('retries a worker that sends %s on another one (excluding it), and answers whole from it', (_what, bad) => {
    const s = start();
    s.answer(0, bad as never);
    expect(s.res.status).toBeUndefined();
    expect(s.dispatches).toHaveLength(2);
    expect(s.dispatches[1]!.request.exclude).toEqual(['w0']);
    s.answer(1, blocks(vectors, 1));
    expect(s.res.status).toBe(200);
    expect((JSON.parse(s.res.body) as { data: unknown[] }).data).toHaveLength(3);
    expect(s.ends).toEqual([expect.objectContaining({ outcome: 'ok', workerId: 'w1' })]);
  });
});
