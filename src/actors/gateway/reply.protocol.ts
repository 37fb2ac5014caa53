/**
 * Frames sent to a gateway's per-request inbox: by the router (an error when it cannot place the
 * request) and by the worker (accepted, chunks or vectors, then end or error). `seq` numbers chunk frames
 * from 0 so the gateway can tell a gap from a reordering. Each dispatch attempt has a reply subject
 * of its own, so frames of an attempt the gateway gave up on can never mix into the next one.
 */
import type { Delta, Usage } from '../../engine-adapters/adapter.js';
import { isDelta } from '../../engine-adapters/engine-values.js';
import { type ErrorInfo, isErrorCode } from '../../errors.js';
import { isFiniteNumber, isObject, isString } from '../../protocol/guards.js';

export type ReplyFrame =
  /** `routingMethod`: the method that chose the worker (the router sets it on the forwarded request). */
  | { type: 'accepted'; requestId: string; workerId: string; routingMethod?: string }
  /** Deltas in order: of a streamed request, all its engine reads of one event-loop turn (worker/turn-batch.ts); otherwise one read. */
  | { type: 'chunk'; seq: number; deltas: Delta[] }
  /** Embeddings: vectors `first`, `first + 1`, … (protocol/vectors.ts); a big batch comes as several. */
  | { type: 'vectors'; seq: number; first: number; dims: number; data: Uint8Array }
  /**
   * The worker still holds the request: `seq` is the next chunk's number, so a gap shows even when
   * the engine is silent. Workers now name all their quiet requests of a gateway in one keepalive
   * frame per interval (worker/keepalive.protocol.ts, taken by the gateway before the session); this
   * per-request form is still understood.
   */
  | { type: 'alive'; seq: number }
  /**
   * `usage`: what the engine reported (a count it did not report is absent). `completionTokens`:
   * the worker's own count of the output; the engine's count wins where it has one.
   */
  | { type: 'end'; seq: number; usage?: Usage; completionTokens: number }
  | { type: 'error'; seq: number; error: ErrorInfo; workerId?: string }
  | { type: 'cancelled'; requestId: string };

export function parseReplyFrame(body: unknown): ReplyFrame | undefined {
  if (!isObject(body)) return undefined;
  switch (body.type) {
    case 'chunk':
      // Deltas are checked one by one: a worker (or a stolen worker credential) cannot put a non-string
      // into a client's answer or a counter.
      return isFiniteNumber(body.seq) && Array.isArray(body.deltas) && body.deltas.every(isDelta) ? (body as unknown as ReplyFrame) : undefined;
    case 'vectors':
      return isFiniteNumber(body.seq) && Number.isSafeInteger(body.first) && Number.isSafeInteger(body.dims) && (body.dims as number) > 0 &&
        body.data instanceof Uint8Array
        ? (body as unknown as ReplyFrame)
        : undefined;
    case 'alive':
      return isFiniteNumber(body.seq) ? (body as unknown as ReplyFrame) : undefined;
    case 'end':
      return isFiniteNumber(body.seq) && (body.usage === undefined || isObject(body.usage)) && isFiniteNumber(body.completionTokens)
        ? (body as unknown as ReplyFrame)
        : undefined;
    case 'accepted':
      return isString(body.requestId) && isString(body.workerId) ? (body as unknown as ReplyFrame) : undefined;
    case 'error':
      return isFiniteNumber(body.seq) && isObject(body.error) && isErrorCode(body.error.code) && isString(body.error.message)
        ? (body as unknown as ReplyFrame)
        : undefined;
    case 'cancelled':
      return isString(body.requestId) ? (body as unknown as ReplyFrame) : undefined;
    default:
      return undefined;
  }
}
