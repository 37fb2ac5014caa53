/**
 * The worker's keepalive: every keepalive interval, ONE frame per gateway naming each request the
 * worker holds for it that sent nothing lately, instead of one `alive` frame per request. At 10,000
 * slow streams the per-request frames were ~25,000 NATS messages a second into the gateway's one
 * mailbox (docs/benchmarks.md, "Memory per in-flight stream"); now it is one per worker and gateway.
 *
 * A gateway's reply subjects are `<inbox>.<token>` under one inbox prefix, so the worker groups its
 * requests by that prefix. The frame goes to one of the named requests' reply subjects (the carrier),
 * signed with the worker's id like every answer (subjects.workerAnswer), and arrives on the gateway's
 * one inbox subscription, in order with the frames sent before it; the gateway drops a keepalive
 * signed by another worker than the one it names.
 * For each request it carries the next chunk's number, as `alive` did: a frame lost before a
 * silence still shows as a gap.
 */
import { isFiniteNumber, isObject, isString, isStringArray } from '../../protocol/guards.js';

export interface KeepaliveFrame {
  type: 'keepalive';
  workerId: string;
  /** The requests, by the last part of their reply subjects (`<inbox>.<token>`). */
  tokens: string[];
  /** `seqs[i]`: the next chunk's number of `tokens[i]`. */
  seqs: number[];
}

/** Requests named per frame at most: a frame stays far below a NATS max_payload whatever the tokens. */
export const keepaliveBatch = 1_000;

/** A reply subject's inbox prefix and token (`<inbox>.<token>`; a subject without a dot is all token). */
export function splitReply(reply: string): { inbox: string; token: string } {
  const dot = reply.lastIndexOf('.');
  return { inbox: reply.slice(0, Math.max(dot, 0)), token: reply.slice(dot + 1) };
}

export function parseKeepaliveFrame(body: unknown): KeepaliveFrame | undefined {
  if (!isObject(body) || body.type !== 'keepalive') return undefined;
  const { workerId, tokens, seqs } = body;
  return isString(workerId) && isStringArray(tokens) && Array.isArray(seqs) && seqs.length === tokens.length && seqs.every(isFiniteNumber)
    ? { type: 'keepalive', workerId, tokens, seqs }
    : undefined;
}
