/**
 * What a request session is given: its limits, the reply subjects its attempts use, and the
 * request with everything the gateway settled about it before dispatch (request-session.ts).
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import type { SampledWarning } from '../../observability/sampled-warning.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import type { Transport } from '../../transport/transport.js';
import type { RoutingHints } from '../worker/worker.protocol.js';
import type { JournalWriter } from './stream-journal.js';
import type { ValidatedRequest } from './request-schema.js';
import type { SessionAccounting, SessionEnd } from './session-accounting.js';

export interface SessionLimits {
  /** Dispatch attempts before the first byte (a retry goes to another worker). */
  maxAttempts: number;
  /** How long to wait for a worker's `accepted` after a dispatch. */
  acceptTimeoutMs: number;
  /** A worker that holds the request and sends nothing, not even a keepalive, this long is gone. */
  livenessTimeoutMs: number;
  /** Longest the engine may go without output once a worker accepted (the worker's keepalives do not count). */
  idleTimeoutMs: number;
  /** How often the gateway renews its leases on the workers that hold its requests. */
  leaseIntervalMs: number;
  /** A client that reads nothing for this long while its stream waits is dropped and the request cancelled. */
  clientStallMs: number;
  /** A client that lets this many bytes pile up unread is dropped and the request cancelled. */
  maxBufferedBytes: number;
}

export const defaultSessionLimits: SessionLimits = {
  maxAttempts: 3, acceptTimeoutMs: 2_000, livenessTimeoutMs: 1_500, idleTimeoutMs: 120_000, leaseIntervalMs: 500,
  clientStallMs: 30_000, maxBufferedBytes: 1024 * 1024,
};

/** Reply subjects for a session's attempts, each routed back to the session by the gateway. */
export interface ReplySubjects {
  open(): string;
  /** Frames to `reply` are dropped from now on. */
  close(reply: string): void;
}

export interface SessionInit {
  transport: Transport;
  metrics: GatewayMetrics;
  log: Logger;
  /** Where frames signed by another worker than the holder are reported (sampled: the gateway's, shared by its sessions). */
  forgedFrames: SampledWarning;
  limits: SessionLimits;
  replies: ReplySubjects;
  requestId: string;
  traceparent: string;
  deadline: number;
  functionId: string;
  model: string;
  clientModel: string;
  request: ValidatedRequest;
  /** The tokenizer the prompt was counted with (the worker counts the completion with it). */
  tokenizer: string;
  /** Prompt tokens counted before admission: usage reports them when the engine does not. */
  promptTokens: number;
  routing: Omit<RoutingHints, 'attempt'>;
  /** Migrations allowed after output started (llmConfig.migration.attempts); 0 turns migration off. */
  migrationAttempts: number;
  /** `x-llmux-debug: 1`: answer with headers naming the worker and the routing method. */
  debug: boolean;
  /** The stream's id, in every SSE event's `id:`. */
  streamId: string;
  /** A resumable stream's journal: the request keeps generating when its client drops. */
  journal?: JournalWriter;
  /** Headers every answer carries (rate limits), errors included. */
  responseHeaders?: Record<string, string>;
  /** Set when the gateway capped the completion at what the rate limits reserved (the client gave no max_tokens). */
  completionBudget?: { tokens: number; why: string };
  /** Called with the whole answer once it is complete, streamed or not (Responses keeps it). */
  onAnswer?: (answer: Record<string, unknown>) => void;
  /** Called once, when the request is over however it ended: settles its reservation, writes its ledger record. */
  onEnd?: (end: SessionEnd) => void;
  res: ServerResponse;
  /** process.hrtime.bigint() at arrival. */
  arrivedAt: bigint;
  /** The request's metrics (the pipeline's; default: a new one). */
  accounting?: SessionAccounting;
  /** Called once when the session is over and can leave the gateway's table. */
  onClose: () => void;
}
