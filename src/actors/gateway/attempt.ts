/**
 * One dispatch of a session's request to one worker: its reply subject (its own, so a worker given
 * up on cannot write into its successor's stream), who holds it, and when it was last heard from;
 * the dispatch that sends it to the routers, whether a signed frame comes from the worker holding
 * it, and the cancel that stops that worker.
 */
import type { Continuation } from '../../engine-adapters/adapter.js';
import { isObject } from '../../protocol/guards.js';
import { subjects } from '../../transport/subjects.js';
import type { MessageHeaders, Transport } from '../../transport/transport.js';
import { hopTimingOn, stampHop } from '../../observability/hop-timing.js';
import type { InferFrame, WorkerInbound } from '../worker/worker.protocol.js';
import { signedBy } from './answer-signer.js';
import type { SessionInit } from './session-init.js';

export interface Attempt {
  reply: string;
  workerId: string | undefined;
  routingMethod: string | undefined;
  expectedSeq: number;
  /** Any frame of this attempt, keepalives included. */
  lastHeard: number;
  /** Engine output (a chunk) of this attempt. */
  lastOutput: number;
  /** What this attempt carries on from, when it is a migration. */
  continuation: Continuation | undefined;
}

/** What one dispatch asks of the routers beyond the request itself. */
export interface Dispatch {
  /** 1 for the first dispatch, counting retries and migrations: the router's decision records number them. */
  attempt: number;
  /** The OpenAI body, encoded once for every dispatch. */
  body: Uint8Array;
  /** Workers not to send it to. */
  exclude: string[];
  /** The reply subject of the previous attempt when nobody accepted it: the routers know whom they gave it to. */
  unanswered: string | undefined;
  continuation: Continuation | undefined;
}

type DispatchInit = Pick<SessionInit,
  'transport' | 'requestId' | 'functionId' | 'model' | 'request' | 'tokenizer' | 'promptTokens' | 'routing' | 'deadline' | 'traceparent'>;

/** Sends the request to the function's routers, which pick a worker and forward it; its frames come back on `reply`. */
export function sendInfer(init: DispatchInit, reply: string, { attempt, body, exclude, unanswered, continuation }: Dispatch): void {
  const request: InferFrame = {
    type: 'infer',
    requestId: init.requestId,
    functionId: init.functionId,
    model: init.model,
    operation: init.request.operation,
    stream: init.request.stream,
    body,
    exclude,
    tokenizer: init.tokenizer,
    promptTokens: init.promptTokens,
    routing: { ...init.routing, attempt, ...(unanswered ? { unanswered } : {}) },
    ...(continuation ? { continuation } : {}),
  };
  const headers: MessageHeaders = { requestId: init.requestId, deadline: init.deadline, traceparent: init.traceparent };
  if (hopTimingOn) headers.hops = stampHop(undefined, 'g.dispatch');
  init.transport.publish(subjects.route(init.functionId), request, { reply, headers });
}

/**
 * Whether a signed frame comes from the worker that holds `attempt`: the one that accepted it, or
 * before that, the one an `accepted` or `error` frame names (a draining worker refuses with an error).
 */
export function signedByHolder(attempt: Attempt, body: unknown, signer: string): boolean {
  if (attempt.workerId !== undefined) return signedBy(signer, attempt.workerId);
  const named = isObject(body) && (body.type === 'accepted' || body.type === 'error') ? body.workerId : undefined;
  return typeof named === 'string' && signedBy(signer, named);
}

/** Stops the engine request of the worker holding `attempt` (it answers `cancelled`); nobody to tell before `accepted`. */
export function sendCancel(transport: Transport, requestId: string, attempt: Attempt): void {
  if (!attempt.workerId) return;
  const cancel: WorkerInbound = { type: 'cancel', requestId, reply: attempt.reply };
  transport.publish(subjects.workerCancel(attempt.workerId), cancel, { headers: { requestId } });
}
