/**
 * What a worker receives over the transport: inference requests (forwarded by a router, with the
 * gateway's reply subject) and cancels (from the gateway holding the client).
 *
 * On the wire an inference request's OpenAI body travels encoded on its own, as msgpack bytes inside
 * the frame (`InferFrame`): a router decodes the small routing part (`RoutedRequest`) and forwards
 * the frame's bytes untouched, never decoding or validating the body; the worker decodes it.
 */
import type { Continuation } from '../../engine-adapters/adapter.js';
import { decode } from '../../transport/codec.js';
import { isOperationName, type OperationName } from '../../operations/index.js';
import { isFiniteNumber, isObject, isString, isStringArray } from '../../protocol/guards.js';
import { type RoutingMethod, routingMethods } from '../../control/function.schema.js';

/** What the gateway works out for the router from the request (the router does not read the body). */
export interface RoutingHints {
  /** Session-affinity key (only for that method): `prompt_cache_key`, else `x-session-id`, else a hash of the leading messages. */
  key?: string;
  /** Chained prefix-block hashes of the prompt, for prefix-aware and kv-aware routing. */
  blocks?: number[];
  /** Chained hashes of the prompt's token-id blocks (router/token-blocks.ts), `blockSize` tokens each, matched against engines' KV events. */
  tokenBlocks?: number[];
  blockSize?: number;
  /** The method the request asked for (`x-llmux-routing-method`), already checked against what its model allows. */
  method?: RoutingMethod;
  /** Prompt tokens plus the most the completion may take. */
  tokens: number;
  /** 1 for the first dispatch; each retry on another worker adds one. */
  attempt: number;
  /**
   * The reply subject of the previous attempt when no worker accepted it in time: the router excludes
   * the worker it went to (the gateway never heard its name), so one silent worker cannot use up every attempt.
   */
  unanswered?: string;
}

export interface InferRequest {
  type: 'infer';
  requestId: string;
  functionId: string;
  /** The bare model name the engine serves. */
  model: string;
  operation: OperationName;
  /** Whether the client streams (the engine may answer in one piece otherwise). */
  stream: boolean;
  /** The validated OpenAI body (the client's `model` string already replaced). */
  body: Record<string, unknown>;
  /** Workers that already failed this request; the router avoids them. */
  exclude: string[];
  /** The tokenizer the gateway counted the prompt with; the worker counts the completion with it. */
  tokenizer: string;
  /** The prompt's tokens as the gateway counted them. */
  promptTokens: number;
  routing: RoutingHints;
  /** Mid-stream migration: what the client already has of the answer another worker started; carry on from there. */
  continuation?: Continuation;
}

/** What a router reads of a request: everything but the body. */
export type RoutedRequest = Omit<InferRequest, 'body'>;

/** An inference request as the gateway sends it: the body as msgpack bytes (`transport/codec.ts`). */
export type InferFrame = RoutedRequest & { body: Uint8Array };

export interface CancelRequest {
  type: 'cancel';
  requestId: string;
  /**
   * The reply subject of the request to cancel: unique per request, unlike a request id a client
   * may choose (and reuse) through `x-request-id`.
   */
  reply: string;
}

/** From a gateway, every lease interval: the requests (by reply subject) it still holds on this worker. */
export interface LeaseRequest {
  type: 'lease';
  replies: string[];
}

/**
 * From the gateway holding the request: its client stopped reading (`paused`), or caught up. A
 * paused worker stops reading its engine's stream, so the engine's own socket fills.
 */
export interface FlowRequest {
  type: 'flow';
  reply: string;
  paused: boolean;
}

/** From the admin API: take nothing new, finish what is in flight. */
export interface DrainRequest {
  type: 'drain';
}

export type WorkerInbound = InferRequest | CancelRequest | LeaseRequest | FlowRequest | DrainRequest;

/** The routing part of an inference frame, its body left encoded (a router's read). */
export function parseRoutedRequest(frame: unknown): RoutedRequest | undefined {
  return isObject(frame) && frame.type === 'infer' && isString(frame.requestId) && isString(frame.functionId) && isString(frame.model) &&
    isOperationName(frame.operation) && typeof frame.stream === 'boolean' && (frame.body instanceof Uint8Array || isObject(frame.body)) &&
    isStringArray(frame.exclude) && isString(frame.tokenizer) && isFiniteNumber(frame.promptTokens) && isRoutingHints(frame.routing) &&
    (frame.continuation === undefined || isContinuation(frame.continuation))
    ? (frame as unknown as RoutedRequest)
    : undefined;
}

/** A frame's body decoded (bytes) or as sent (an object, from an in-process sender), when it is an object. */
function openBody(body: unknown): Record<string, unknown> | undefined {
  if (!(body instanceof Uint8Array)) return isObject(body) ? body : undefined;
  try {
    const decoded = decode(body);
    return isObject(decoded) ? decoded : undefined;
  } catch {
    return undefined;
  }
}

export function parseWorkerInbound(body: unknown): WorkerInbound | undefined {
  if (!isObject(body)) return undefined;
  switch (body.type) {
    case 'infer': {
      const routed = parseRoutedRequest(body);
      const opened = routed ? openBody(body.body) : undefined;
      return routed && opened ? { ...routed, body: opened } : undefined;
    }
    case 'cancel':
      return isString(body.requestId) && isString(body.reply) ? (body as unknown as CancelRequest) : undefined;
    case 'flow':
      return isString(body.reply) && typeof body.paused === 'boolean' ? { type: 'flow', reply: body.reply, paused: body.paused } : undefined;
    case 'lease':
      return isStringArray(body.replies) ? { type: 'lease', replies: body.replies } : undefined;
    case 'drain':
      return { type: 'drain' };
    default:
      return undefined;
  }
}

function isContinuation(v: unknown): v is Continuation {
  return isObject(v) && isString(v.text) && isFiniteNumber(v.tokens) && (v.maxTokens === undefined || isFiniteNumber(v.maxTokens));
}

function isRoutingHints(v: unknown): v is RoutingHints {
  return isObject(v) && (v.key === undefined || isString(v.key)) && isFiniteNumber(v.tokens) && isFiniteNumber(v.attempt) &&
    (v.blocks === undefined || (Array.isArray(v.blocks) && v.blocks.every(isFiniteNumber))) &&
    (v.tokenBlocks === undefined || (Array.isArray(v.tokenBlocks) && v.tokenBlocks.every(isFiniteNumber))) &&
    (v.blockSize === undefined || (Number.isInteger(v.blockSize) && (v.blockSize as number) > 0)) &&
    (v.method === undefined || (routingMethods as readonly unknown[]).includes(v.method)) &&
    (v.unanswered === undefined || isString(v.unanswered));
}
