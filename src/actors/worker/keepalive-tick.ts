/**
 * The worker's side of liveness, judged every keepalive interval and never on the engine's output
 * (a long prefill is silent for tens of seconds): a request whose gateway sent no lease in time has
 * lost its gateway and is aborted; the others that sent nothing lately are named in one `keepalive`
 * frame per gateway.
 */
import type { Logger } from '../../observability/logger.js';
import type { AbortReason, Held } from './held-request.js';
import { type KeepaliveFrame, keepaliveBatch, splitReply } from './keepalive.protocol.js';
import type { ReplyFrames } from './reply-frames.js';

export interface KeepaliveTickOptions {
  inFlight: ReadonlyMap<string, Held>;
  workerId: string;
  keepaliveMs: number;
  leaseTimeoutMs: number;
  frames: ReplyFrames;
  log: Logger;
  /** A request's lease lapsed and its engine request was aborted (WorkerStats.orphanedAborts). */
  onOrphaned: () => void;
}

export function createKeepaliveTick(options: KeepaliveTickOptions): () => void {
  const { inFlight, workerId, keepaliveMs, leaseTimeoutMs, log } = options;
  const { answer, sendAccepted, sendStreamed } = options.frames;

  /**
   * Every keepalive interval: abort the requests whose gateway's lease lapsed, and for the others
   * that sent nothing lately one `keepalive` frame per gateway (keepalive.protocol.ts), not one per request.
   */
  const tick = (): void => {
    const now = Date.now();
    /** By gateway inbox: the requests due a keepalive, and one of their replies to carry it (the gateway trusts its signature, not the reply). */
    const due = new Map<string, { carrier: string; tokens: string[]; seqs: number[] }>();
    for (const [reply, held] of inFlight) {
      if (held.controller.signal.aborted) continue;
      if (now - held.lastLease > leaseTimeoutMs) {
        options.onOrphaned();
        log.warn({ reply, leaseAgoMs: now - held.lastLease }, 'no lease from the gateway; aborting its engine request');
        held.controller.abort('orphaned' satisfies AbortReason);
        continue;
      }
      sendStreamed(reply, held);
      if (now - held.lastSent < keepaliveMs) continue;
      // The gateway hears `accepted` before any keepalive naming the request.
      sendAccepted(reply, held);
      const { inbox, token } = splitReply(reply);
      const group = due.get(inbox);
      if (!group) due.set(inbox, { carrier: reply, tokens: [token], seqs: [held.seq] });
      else {
        group.tokens.push(token);
        group.seqs.push(held.seq);
      }
    }
    for (const { carrier, tokens, seqs } of due.values()) {
      for (let i = 0; i < tokens.length; i += keepaliveBatch) {
        const frame: KeepaliveFrame = { type: 'keepalive', workerId,
          tokens: tokens.slice(i, i + keepaliveBatch), seqs: seqs.slice(i, i + keepaliveBatch) };
        answer(carrier, frame);
      }
    }
  };
  return tick;
}
