/**
 * The worker actor: one per engine instance. Registers and heartbeats its load, takes requests the
 * router forwards (replying `accepted` at once to the gateway's inbox), drives the engine through
 * its adapter, and streams `chunk` frames then `end` or `error` to that inbox. A cancel aborts the
 * engine request and is confirmed with a `cancelled` frame.
 */
import { ErrorCode, type ErrorInfo, LlmuxError, assertNever } from '../../errors.js';
import type { EngineAdapter, EngineLoad, Delta, Usage } from '../../engine-adapters/adapter.js';
import type { Logger } from '../../observability/logger.js';
import type { TokenCounter } from '../../tokenize/index.js';
import { subjects } from '../../transport/subjects.js';
import type { MessageHeaders, Subscription, Transport } from '../../transport/transport.js';
import { type ActorRef, spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import type { RegistryEvent, WorkerDescriptor } from '../router/registry.protocol.js';
import { OutputText } from './output-text.js';
import { type InferRequest, parseWorkerInbound } from './worker.protocol.js';

export type WorkerMessage =
  | { type: 'infer'; request: InferRequest; reply: string; headers: MessageHeaders }
  | { type: 'cancel'; reply: string }
  | { type: 'finished'; reply: string }
  | { type: 'heartbeat' }
  | { type: 'announce' };

export interface WorkerOptions {
  transport: Transport;
  engine: EngineAdapter;
  /** Counts completion tokens (every request: the engine's own count, when it has one, is checked against it). */
  tokens: TokenCounter;
  descriptor: WorkerDescriptor;
  log: Logger;
  /** How long stop() lets in-flight requests finish before aborting them. */
  drainTimeoutMs?: number;
}

export interface Worker {
  readonly descriptor: WorkerDescriptor;
  inFlight(): number;
  /** Deregisters, lets in-flight requests finish (up to drainTimeoutMs), then stops. */
  stop(): Promise<void>;
}

function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof LlmuxError) return error.toInfo();
  return { code: ErrorCode.internalError, message: error instanceof Error ? error.message : String(error), retryable: true };
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { transport, engine, tokens, descriptor, log } = options;
  /** Engine requests in flight, by reply subject. */
  const inFlight = new Map<string, AbortController>();
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let drained: (() => void) | undefined;
  /** The engine's own load, as last scraped (one scrape per heartbeat, never two at once). */
  let engineLoad: EngineLoad | undefined;
  let scraping = false;

  const publishRegistry = (event: RegistryEvent): void => transport.publish(subjects.registry(descriptor.workerId), event);
  const load = () => ({ inFlight: inFlight.size, ...(engineLoad ? { engine: engineLoad } : {}) });
  const scrapeEngineLoad = (): void => {
    if (scraping) return;
    scraping = true;
    engine.load(AbortSignal.timeout(descriptor.heartbeatMs))
      .then((l) => void (engineLoad = l), () => void (engineLoad = undefined))
      .finally(() => void (scraping = false));
  };

  /** Tokens of the output, by the request's tokenizer; when that fails, the engine's count (or the delta count) stands. */
  const countOutput = async (request: InferRequest, output: OutputText): Promise<number> => {
    try {
      const counts = await tokens.countTexts(request.tokenizer, output.texts());
      return counts.reduce((a, b) => a + b, 0);
    } catch (error) {
      log.warn({ requestId: request.requestId, tokenizer: request.tokenizer, err: error }, 'completion token counting failed; using the delta count');
      return output.deltas;
    }
  };

  const run = async (self: ActorRef<WorkerMessage>, request: InferRequest, reply: string, headers: MessageHeaders, controller: AbortController): Promise<void> => {
    let seq = 0;
    let usage: Usage | undefined;
    const output = new OutputText();
    try {
      const stream = engine.stream(
        { operation: request.operation, stream: request.stream, model: request.model, body: request.body, requestId: request.requestId,
          ...(headers.deadline ? { deadline: headers.deadline } : {}) },
        controller.signal,
      );
      for await (const events of stream) {
        const deltas: Delta[] = [];
        for (const e of events) {
          if (e.type === 'delta') {
            deltas.push(e.delta);
            output.add(e.delta);
          } else {
            usage = usage ? { ...usage, ...e.usage } : e.usage;
          }
        }
        if (deltas.length > 0) transport.publish(reply, { type: 'chunk', seq: seq++, deltas } satisfies ReplyFrame);
      }
      const completionTokens = await countOutput(request, output);
      transport.publish(reply, { type: 'end', seq: seq++, completionTokens, ...(usage ? { usage } : {}) } satisfies ReplyFrame);
    } catch (error) {
      if (controller.signal.aborted) {
        transport.publish(reply, { type: 'cancelled', requestId: request.requestId } satisfies ReplyFrame);
        log.info({ requestId: request.requestId }, 'engine request aborted on cancel');
      } else {
        const info = toErrorInfo(error);
        transport.publish(reply, { type: 'error', seq: seq++, error: info, workerId: descriptor.workerId } satisfies ReplyFrame);
        log.warn({ requestId: request.requestId, code: info.code, err: info.message }, 'engine request failed');
      }
    } finally {
      self.tell({ type: 'finished', reply });
    }
  };

  const actor = spawn<WorkerMessage>(`worker:${descriptor.workerId}`, ({ self }) => ({
    receive(msg) {
      switch (msg.type) {
        case 'infer': {
          const { request, reply, headers } = msg;
          const controller = new AbortController();
          // Keyed by reply subject: unique per request, whatever request id the client chose.
          inFlight.set(reply, controller);
          transport.publish(reply, { type: 'accepted', requestId: request.requestId, workerId: descriptor.workerId } satisfies ReplyFrame);
          void run(self, request, reply, headers, controller);
          return;
        }
        case 'cancel': {
          inFlight.get(msg.reply)?.abort();
          return;
        }
        case 'finished':
          inFlight.delete(msg.reply);
          if (inFlight.size === 0) drained?.();
          return;
        case 'heartbeat':
          publishRegistry({ type: 'heartbeat', worker: descriptor, load: load() });
          scrapeEngineLoad();
          return;
        case 'announce':
          publishRegistry({ type: 'register', worker: descriptor, load: load() });
          return;
        default:
          assertNever(msg);
      }
    },
  }), {
    mailbox: { capacity: 50_000, overflow: Overflow.reject },
    onFailure: (error) => log.error({ err: error }, 'worker actor failed; restarting'),
  });

  const subs: Subscription[] = [
    transport.subscribe(subjects.workerInfer(descriptor.workerId), (m) => {
      const request = parseWorkerInbound(m.body);
      if (request?.type !== 'infer' || !m.reply) return;
      if (!actor.tell({ type: 'infer', request, reply: m.reply, headers: m.headers })) {
        transport.publish(m.reply, { type: 'error', seq: 0, workerId: descriptor.workerId,
          error: { code: ErrorCode.noActiveBackend, message: 'worker overloaded', retryable: true } } satisfies ReplyFrame);
      }
    }),
    transport.subscribe(subjects.workerCancel(descriptor.workerId), (m) => {
      const cancel = parseWorkerInbound(m.body);
      if (cancel?.type === 'cancel') actor.tell({ type: 'cancel', reply: cancel.reply });
    }),
    transport.subscribe(subjects.discover, () => actor.tell({ type: 'announce' })),
  ];
  await transport.flush();
  actor.tell({ type: 'announce' });
  heartbeatTimer = setInterval(() => actor.tell({ type: 'heartbeat' }), descriptor.heartbeatMs);
  heartbeatTimer.unref();

  return {
    descriptor,
    inFlight: () => inFlight.size,
    async stop() {
      clearInterval(heartbeatTimer);
      publishRegistry({ type: 'deregister', workerId: descriptor.workerId, reason: 'shutdown' });
      subs[0]?.unsubscribe(); // no new requests; cancels still reach in-flight ones
      if (inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, options.drainTimeoutMs ?? 10_000).unref();
        });
        for (const controller of inFlight.values()) controller.abort();
      }
      for (const s of subs) s.unsubscribe();
      await transport.flush().catch(() => undefined);
      await actor.stop();
      await engine.close();
    },
  };
}
