// Streamed output in as few NATS messages as the event loop allows, on a real nats-server: what an
// engine yields within one event-loop turn reaches the gateway's inbox as one `chunk` frame, in
// order; output of later turns is not held back for it; and a client streaming through the whole
// stack still gets one SSE event per token with exactly the text and usage of the whole answer.
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Delta, EngineAdapter, EngineEvent } from '../src/engine-adapters/adapter.js';
import { parseReplyFrame, type ReplyFrame } from '../src/actors/gateway/reply.protocol.js';
import { workerDescriptor } from '../src/actors/router/router-test-support.js';
import { startWorker, type Worker } from '../src/actors/worker/worker.js';
import type { InferRequest } from '../src/actors/worker/worker.protocol.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { silentLogger } from '../src/observability/logger.js';
import { createTokenCounter } from '../src/tokenize/index.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { connectNats, type NatsTransport } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import { clientFor, startTestStack } from './support/stack.js';

const tokens = createTokenCounter();
let nats: NatsServerHandle;
let workerSide: NatsTransport;
let gatewaySide: NatsTransport;
const workers: Worker[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  workerSide = await connectNats({ servers: nats.url, name: 'worker' });
  gatewaySide = await connectNats({ servers: nats.url, name: 'gateway' });
});

afterAll(async () => {
  for (const w of workers.splice(0)) await w.stop().catch(() => undefined);
  await workerSide?.close();
  await gatewaySide?.close();
  await nats?.stop();
  await tokens.close();
});

const words = ['The', ' sea', ' is', ' wide', ',', ' the', ' sea', ' is', ' deep', '.'];
const batchOf = (i: number): EngineEvent[] => [{ type: 'delta', delta: {
  index: 0, ...(i === 0 ? { role: 'assistant' } : {}), text: words[i] as string, ...(i === words.length - 1 ? { finishReason: 'stop' } : {}),
} }];

/** An engine answering with one word per read; `betweenReads` runs between two reads (nothing: all in one turn). */
function wordEngine(kind: string, betweenReads?: () => Promise<void>): EngineAdapter {
  return {
    kind,
    async *stream() {
      for (let i = 0; i < words.length; i++) {
        if (i > 0 && betweenReads) await betweenReads();
        yield batchOf(i);
      }
    },
    health: async () => true,
    load: async () => undefined,
    close: async () => undefined,
  };
}

/** One streamed request to a worker on `engine` over NATS: every message its reply subject got, to the `end`. */
async function framesOf(engine: EngineAdapter, workerId: string): Promise<ReplyFrame[]> {
  const worker = await startWorker({ transport: workerSide, engine, tokens, log: silentLogger(),
    descriptor: workerDescriptor(workerId, { engineKind: engine.kind, capacity: 4, heartbeatMs: 1_000 }) });
  workers.push(worker);
  const reply = `${gatewaySide.newInboxPrefix()}.r`;
  const messages: unknown[] = [];
  gatewaySide.subscribe(`${reply}.*`, (m) => void messages.push(m.body));
  await gatewaySide.flush();
  const request: InferRequest = {
    type: 'infer', requestId: `r-${workerId}`, functionId: 'fn', model: 'm', operation: 'chat', stream: true,
    body: { messages: [] }, exclude: [], tokenizer: 'o200k', promptTokens: 5, routing: { tokens: 10, attempt: 1 },
  };
  gatewaySide.publish(subjects.workerInfer(workerId), request, { reply });
  await vi.waitFor(() => expect(messages.map((b) => parseReplyFrame(b)?.type)).toContain('end'), { timeout: 5_000 });
  // Every message is a frame the gateway accepts: nothing malformed came from merging.
  return messages.map((b) => parseReplyFrame(b) as ReplyFrame);
}

const chunks = (frames: ReplyFrame[]) => frames.filter((f): f is Extract<ReplyFrame, { type: 'chunk' }> => f.type === 'chunk');
const textOf = (deltas: Delta[]): string => deltas.map((d) => d.text ?? '').join('');

describe('stream frames - one NATS message per request per event-loop turn', () => {
  it('sends every read an engine yields within one turn as one chunk frame, deltas in order', async () => {
    const frames = await framesOf(wordEngine('one-turn'), 'w-turn');
    const sent = chunks(frames);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.deltas).toEqual(words.map((_, i) => (batchOf(i)[0] as Extract<EngineEvent, { type: 'delta' }>).delta));
    expect(textOf(sent[0]!.deltas)).toBe(words.join(''));
    expect(frames.filter((f) => f.type !== 'alive').map((f) => f.type)).toEqual(['accepted', 'chunk', 'end']);
    expect(frames.find((f) => f.type === 'end')).toMatchObject({ seq: 1 });
  });

  it('does not hold a read back for a later turn: reads in turns of their own go out as frames of their own', async () => {
    const frames = await framesOf(wordEngine('turn-each', () => new Promise((resolve) => setImmediate(resolve))), 'w-each');
    const sent = chunks(frames);
    expect(sent.map((f) => f.seq)).toEqual(words.map((_, i) => i));
    expect(sent.map((f) => textOf(f.deltas))).toEqual(words);
  });
});

describe('stream frames - what a client streaming through the stack gets', () => {
  let stack: LocalStack;
  let client: OpenAI;
  beforeAll(async () => {
    // No delay between tokens: the simulator writes faster than one token per read, so reads merge.
    stack = await startTestStack({ workers: 1, sim: { itlMs: 0 } });
    client = clientFor(stack);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('gets one SSE event per token, with exactly the whole answer\'s text and usage', async () => {
    const model = stack.models[0] as string;
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Say something about the sea.' }];
    const whole = await client.chat.completions.create({ model, messages, max_tokens: 64 });
    for (let i = 0; i < 3; i++) {
      const stream = await client.chat.completions.create({ model, messages, max_tokens: 64, stream: true, stream_options: { include_usage: true } });
      const pieces: string[] = [];
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta.content;
        if (content) pieces.push(content);
        if (chunk.usage) usage = chunk.usage;
      }
      expect(pieces.join('')).toBe(whole.choices[0]?.message.content);
      expect(pieces).toHaveLength(64);
      expect(usage).toEqual(whole.usage);
    }
  });
});
