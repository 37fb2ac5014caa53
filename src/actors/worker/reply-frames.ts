/**
 * The frames a worker sends to a request's gateway inbox, all signed with its id: `accepted` first
 * (held back briefly to share a flush with the answer's first frame), then the numbered frames, with
 * a request's streamed deltas of one event-loop turn gathered into one `chunk` (turn-batch.ts).
 */
import type { Logger } from '../../observability/logger.js';
import { subjects } from '../../transport/subjects.js';
import type { PublishOptions, Transport } from '../../transport/transport.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import type { AbortReason, Held } from './held-request.js';
import { TurnBatch } from './turn-batch.js';

export interface ReplyFrames {
  /** Every answer goes out signed with this worker's id (subjects.workerAnswer): the only form its NATS identity may publish one in. */
  answer(reply: string, frame: unknown, options?: PublishOptions): void;
  /** `hops`: only on the `end` frame of a timed request, the chain of its hop stamps. */
  send(reply: string, held: Held, frame: ReplyFrame, hops?: string): void;
  sendAccepted(reply: string, held: Held): void;
  /** A request's streamed deltas of this turn as one `chunk`; due before any other numbered frame of the request. */
  sendStreamed(reply: string, held: Held): void;
  /** Requests whose streamed deltas go out at the end of this turn (`due(reply)`). */
  streamedBatch: TurnBatch<string>;
}

/** `onOrphaned`: a chunk frame could not go out, and its engine request was aborted as orphaned (WorkerStats.orphanedAborts). */
export function createReplyFrames(transport: Transport, workerId: string, inFlight: ReadonlyMap<string, Held>, log: Logger, onOrphaned: () => void): ReplyFrames {
  const answer = (reply: string, frame: unknown, options?: PublishOptions): void => transport.publish(subjects.workerAnswer(reply, workerId), frame, options);

  const sendStreamed = (reply: string, held: Held): void => {
    if (held.streamed.length === 0) return;
    const deltas = held.streamed;
    held.streamed = [];
    send(reply, held, { type: 'chunk', seq: held.seq++, deltas });
  };
  const streamedBatch = new TurnBatch<string>((reply) => {
    const held = inFlight.get(reply);
    if (!held) return;
    try {
      sendStreamed(reply, held);
    } catch (error) {
      // Outside the request's own run: a frame that cannot go out ends the request as one whose gateway is gone.
      log.warn({ reply, err: error }, 'could not send a chunk frame; aborting its engine request');
      if (!held.controller.signal.aborted) onOrphaned();
      held.controller.abort('orphaned' satisfies AbortReason);
    }
  });

  const send = (reply: string, held: Held, frame: ReplyFrame, hops?: string): void => {
    if (held.accepted) sendAccepted(reply, held);
    held.lastSent = Date.now();
    answer(reply, frame, hops !== undefined ? { headers: { hops } } : undefined);
  };
  const sendAccepted = (reply: string, held: Held): void => {
    const frame = held.accepted;
    if (!frame) return;
    held.accepted = undefined;
    clearTimeout(held.acceptTimer);
    held.lastSent = Date.now();
    answer(reply, frame);
  };

  return { answer, send, sendAccepted, sendStreamed, streamedBatch };
}
