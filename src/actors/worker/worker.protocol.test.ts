// An inference frame on the wire: a router reads its routing part and leaves the body encoded; the worker decodes it.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../transport/codec.js';
import { type InferFrame, parseRoutedRequest, parseWorkerInbound } from './worker.protocol.js';

const body = { messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3 };
const frame = (encodedBody: Uint8Array): InferFrame => ({
  type: 'infer', requestId: 'r1', functionId: 'fn', model: 'm', operation: 'chat', stream: false, body: encodedBody,
  exclude: [], tokenizer: 'o200k', promptTokens: 4, routing: { tokens: 7, attempt: 1 },
});
/** As the transport carries it: encoded, then decoded at the receiver. */
const carried = (f: InferFrame): unknown => decode(encode(f));

describe('worker protocol - inference frames', () => {
  it("gives a router the routing part with the body still encoded, and a worker the body decoded", () => {
    const routed = parseRoutedRequest(carried(frame(encode(body))));
    expect(routed?.requestId).toBe('r1');
    expect((routed as { body?: unknown } | undefined)?.body).toBeInstanceOf(Uint8Array);
    const inbound = parseWorkerInbound(carried(frame(encode(body))));
    expect(inbound).toMatchObject({ type: 'infer', requestId: 'r1', body });
  });

  it('lets a router route a frame whose body is not an object, which the worker then refuses', () => {
    for (const bad of [encode('not an object'), encode([1, 2]), encode(body).subarray(0, 5)]) {
      expect(parseRoutedRequest(carried(frame(bad)))).toBeDefined();
      expect(parseWorkerInbound(carried(frame(bad)))).toBeUndefined();
    }
  });
});
