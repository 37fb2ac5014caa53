/**
 * What a worker receives over the transport: inference requests (forwarded by a router, with the
 * gateway's reply subject) and cancels (from the gateway holding the client).
 */
import type { Operation } from '../../engine-adapters/adapter.js';
import { isObject, isString, isStringArray } from '../../protocol/guards.js';

export interface InferRequest {
  type: 'infer';
  requestId: string;
  functionId: string;
  /** The bare model name the engine serves. */
  model: string;
  operation: Operation;
  /** Whether the client streams (the engine may answer in one piece otherwise). */
  stream: boolean;
  /** The validated OpenAI body (the client's `model` string already replaced). */
  body: Record<string, unknown>;
  /** Workers that already failed this request; the router avoids them. */
  exclude: string[];
  /** The tokenizer the gateway counted the prompt with; the worker counts the completion with it. */
  tokenizer: string;
}

export interface CancelRequest {
  type: 'cancel';
  requestId: string;
  /**
   * The reply subject of the request to cancel: unique per request, unlike a request id a client
   * may choose (and reuse) through `x-request-id`.
   */
  reply: string;
}

export type WorkerInbound = InferRequest | CancelRequest;

export function parseWorkerInbound(body: unknown): WorkerInbound | undefined {
  if (!isObject(body)) return undefined;
  switch (body.type) {
    case 'infer':
      return isString(body.requestId) && isString(body.functionId) && isString(body.model) &&
        (body.operation === 'chat' || body.operation === 'completion') && typeof body.stream === 'boolean' && isObject(body.body) && isStringArray(body.exclude) &&
        isString(body.tokenizer)
        ? (body as unknown as InferRequest)
        : undefined;
    case 'cancel':
      return isString(body.requestId) && isString(body.reply) ? (body as unknown as CancelRequest) : undefined;
    default:
      return undefined;
  }
}
