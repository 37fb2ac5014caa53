/** Worker registry events: what workers publish so routers know who exists and how loaded they are. */
import type { EngineCapability, EngineLoad } from '../../engine-adapters/adapter.js';
import { isFiniteNumber, isObject, isString } from '../../protocol/guards.js';

export interface WorkerLimits {
  /** Tokens (prompt + completion) the worker may serve per minute; usage-based routing keeps under it. */
  tokensPerMinute?: number;
  requestsPerMinute?: number;
}

export interface WorkerDescriptor {
  workerId: string;
  functionId: string;
  versionId: string;
  /** The bare model name the worker's engine serves. */
  model: string;
  engineKind: string;
  /** What its engine does (generate, embed); absent: it generates (a worker from before this field). */
  serves?: EngineCapability[];
  /** The cluster the worker runs in; routers prefer workers of their own cluster. */
  cluster: string;
  /** Free-form labels (zone, GPU type, …), shown in decisions and worker lists. */
  labels: Record<string, string>;
  /** Requests the worker takes at once before it counts as full. */
  capacity: number;
  /** Weight for weighted random routing (simple-shuffle); default: capacity. */
  weight?: number;
  limits?: WorkerLimits;
  /** How often the worker heartbeats; the router expires it after missing them. */
  heartbeatMs: number;
}

export type WorkerState = 'active' | 'draining';

export interface WorkerLoad {
  /** Requests the worker has accepted and not finished. */
  inFlight: number;
  /** `draining`: finishing what it has, taking nothing new. */
  state: WorkerState;
  /** Whether the engine answered its health check at the last heartbeat. */
  healthy: boolean;
  /**
   * Requests finished since the worker started: `failed` counts the engine's 5xx answers, timeouts
   * and broken streams, never its 4xx (the client's fault). Routers diff successive reports to feed
   * their circuit breakers, so every router sees the same failures whoever routed the requests.
   */
  outcomes: { ok: number; failed: number };
  /** Peak-EWMA of the time to first token the worker observed, ms (absent before the first request). */
  ttftMs?: number;
  /** Tokens and requests served over the last minute. */
  usage: { tokensPerMinute: number; requestsPerMinute: number };
  /** What the engine itself reports (queue, KV cache), when it has a metrics endpoint. */
  engine?: EngineLoad;
  /**
   * Engine requests the worker aborted on its own since it started: `orphaned`, their gateway's
   * lease lapsed (it died or was cut off); `stalled`, the engine went silent mid-answer.
   */
  aborts?: { orphaned: number; stalled: number };
  /**
   * Prompt tokens still to be prefilled by the requests in flight that have had no output yet, as
   * their routers predicted them (the `prefillTokens` header): the prefill queued on the engine,
   * which cost-model weighs. Absent from workers older than the field.
   */
  prefilling?: number;
}

export type RegistryEvent =
  | { type: 'register'; worker: WorkerDescriptor; load: WorkerLoad }
  | { type: 'heartbeat'; worker: WorkerDescriptor; load: WorkerLoad }
  /**
   * Between heartbeats, after requests finish or have their first output (one per event-loop turn,
   * however many changed in it): the in-flight count and the prefill still queued, so routers see
   * completions and finished prefills at once instead of counting every dispatch until the next
   * heartbeat. About two small messages per request, to the routers only.
   */
  | { type: 'load'; workerId: string; inFlight: number; prefilling?: number }
  | { type: 'deregister'; workerId: string; reason: string };


const optionalNumber = (v: unknown): boolean => v === undefined || isFiniteNumber(v);

/**
 * Heartbeat intervals a router accepts: a descriptor is believed only as long as its heartbeats keep
 * coming, so an interval of years (a phantom that outlives its connection) is refused.
 */
export const heartbeatBoundsMs = { min: 10, max: 60_000 } as const;
const maxCapacity = 100_000;
const inRange = (v: unknown, min: number, max: number): boolean => isFiniteNumber(v) && v >= min && v <= max;
const positive = (v: unknown): boolean => isFiniteNumber(v) && v > 0;

function isLabels(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every(isString);
}

const capabilities: readonly unknown[] = ['generate', 'embed'] satisfies EngineCapability[];

function isDescriptor(v: unknown): v is WorkerDescriptor {
  return isObject(v) && isString(v.workerId) && isString(v.functionId) && isString(v.versionId) && isString(v.model) &&
    isString(v.engineKind) && isString(v.cluster) && isLabels(v.labels) && inRange(v.capacity, 1, maxCapacity) &&
    inRange(v.heartbeatMs, heartbeatBoundsMs.min, heartbeatBoundsMs.max) &&
    (v.weight === undefined || positive(v.weight)) &&
    (v.serves === undefined || (Array.isArray(v.serves) && v.serves.length <= capabilities.length && v.serves.every((s) => capabilities.includes(s)))) &&
    (v.limits === undefined || (isObject(v.limits) && optionalNumber(v.limits.tokensPerMinute) && optionalNumber(v.limits.requestsPerMinute)));
}

function isEngineLoad(v: unknown): v is EngineLoad {
  return isObject(v) && optionalNumber(v.running) && optionalNumber(v.waiting) && optionalNumber(v.kvCacheUsage) &&
    optionalNumber(v.prefixCacheQueries) && optionalNumber(v.prefixCacheHits);
}

function isLoad(v: unknown): v is WorkerLoad {
  return isObject(v) && isFiniteNumber(v.inFlight) && (v.state === 'active' || v.state === 'draining') && typeof v.healthy === 'boolean' &&
    isObject(v.outcomes) && isFiniteNumber(v.outcomes.ok) && isFiniteNumber(v.outcomes.failed) && optionalNumber(v.ttftMs) &&
    isObject(v.usage) && isFiniteNumber(v.usage.tokensPerMinute) && isFiniteNumber(v.usage.requestsPerMinute) &&
    (v.engine === undefined || isEngineLoad(v.engine)) &&
    (v.aborts === undefined || (isObject(v.aborts) && isFiniteNumber(v.aborts.orphaned) && isFiniteNumber(v.aborts.stalled))) &&
    (v.prefilling === undefined || isTokenCount(v.prefilling));
}

/** Prompt tokens a worker may claim to have queued: a whole number, at most 10⁹ (a lying worker cannot make one router's sums overflow). */
const isTokenCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1e9;

/** The worker an event speaks for: a router accepts it only on that worker's own subject. */
export function eventWorkerId(event: RegistryEvent): string {
  return event.type === 'register' || event.type === 'heartbeat' ? event.worker.workerId : event.workerId;
}

export function parseRegistryEvent(body: unknown): RegistryEvent | undefined {
  if (!isObject(body)) return undefined;
  switch (body.type) {
    case 'register':
    case 'heartbeat':
      return isDescriptor(body.worker) && isLoad(body.load) ? (body as unknown as RegistryEvent) : undefined;
    case 'load':
      if (!isString(body.workerId) || !isFiniteNumber(body.inFlight) || (body.prefilling !== undefined && !isTokenCount(body.prefilling))) return undefined;
      return { type: 'load', workerId: body.workerId, inFlight: body.inFlight, ...(body.prefilling !== undefined ? { prefilling: body.prefilling } : {}) };
    case 'deregister':
      return isString(body.workerId) && isString(body.reason) ? (body as unknown as RegistryEvent) : undefined;
    default:
      return undefined;
  }
}
