/**
 * What the worker actor's mailbox takes: the requests, cancels, leases, flow changes and drains that
 * arrive over the transport (worker-subscriptions.ts), its timers' ticks and heartbeats, and what its
 * engine calls tell back to it (engine-call.ts).
 */
import type { MessageHeaders } from '../../transport/transport.js';
import type { Outcome } from './held-request.js';
import type { InferRequest } from './worker.protocol.js';

export type WorkerMessage =
  | { type: 'infer'; request: InferRequest; reply: string; headers: MessageHeaders }
  | { type: 'cancel'; reply: string }
  | { type: 'lease'; replies: string[] }
  | { type: 'flow'; reply: string; paused: boolean }
  | { type: 'tick' }
  | { type: 'finished'; reply: string; outcome: Outcome; tokens: number }
  | { type: 'first-token'; ms: number }
  | { type: 'drain' }
  | { type: 'heartbeat' }
  | { type: 'announce' };
