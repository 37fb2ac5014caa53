/**
 * Messages between routers, and between the gateway's admin API and routers. Routers run
 * active-active: each tells the others where it sent a request (`routed`), so all of them count the
 * same in-flight load and know the same prefixes between worker heartbeats. Admin questions go to
 * every router; each answers from what it holds.
 */
import { isFiniteNumber, isObject, isString } from '../../protocol/guards.js';
import type { BreakerState } from './circuit-breaker.js';
import type { DecisionRecord } from './decision.js';
import type { WorkerDescriptor, WorkerLoad } from './registry.protocol.js';

export interface RoutedEvent {
  type: 'routed';
  routerId: string;
  workerId: string;
  tokens: number;
  blocks?: number[];
  /** The dispatch's reply subject (unique per attempt): lets any router name the worker an attempt went to. */
  reply?: string;
  /** Prompt tokens the deciding router expected the worker's engine to find cached (cache-hits.ts). */
  predictedCached?: number;
  /** Prompt tokens the deciding router expected the engine to prefill: the prompt less `predictedCached` (cost-model's pending prefill). */
  prefillTokens?: number;
}

export type RouterQuery = { type: 'decisions'; requestId: string } | { type: 'workers' };

/** A worker as a router sees it. */
export interface WorkerView {
  descriptor: WorkerDescriptor;
  load: WorkerLoad;
  /** Its last report plus requests routed to it since. */
  inFlight: number;
  breaker: BreakerState;
  lastSeenMsAgo: number;
}

export type RouterAnswer =
  | { type: 'decisions'; routerId: string; records: readonly DecisionRecord[] }
  | { type: 'workers'; routerId: string; workers: WorkerView[] };

export function parseRoutedEvent(body: unknown): RoutedEvent | undefined {
  return isObject(body) && body.type === 'routed' && isString(body.routerId) && isString(body.workerId) && isFiniteNumber(body.tokens) &&
    (body.blocks === undefined || (Array.isArray(body.blocks) && body.blocks.every(isFiniteNumber))) &&
    (body.reply === undefined || isString(body.reply)) && (body.predictedCached === undefined || isFiniteNumber(body.predictedCached))
    && (body.prefillTokens === undefined || (isFiniteNumber(body.prefillTokens) && body.prefillTokens >= 0))
    ? (body as unknown as RoutedEvent)
    : undefined;
}

export function parseRouterQuery(body: unknown): RouterQuery | undefined {
  if (!isObject(body)) return undefined;
  if (body.type === 'decisions' && isString(body.requestId)) return { type: 'decisions', requestId: body.requestId };
  if (body.type === 'workers') return { type: 'workers' };
  return undefined;
}

export function parseRouterAnswer(body: unknown): RouterAnswer | undefined {
  if (!isObject(body) || !isString(body.routerId)) return undefined;
  if (body.type === 'decisions' && Array.isArray(body.records)) return body as unknown as RouterAnswer;
  if (body.type === 'workers' && Array.isArray(body.workers)) return body as unknown as RouterAnswer;
  return undefined;
}
