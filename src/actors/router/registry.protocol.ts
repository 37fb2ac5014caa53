/** Worker registry events: what workers publish so routers know who exists and how loaded they are. */
import type { EngineLoad } from '../../engine-adapters/adapter.js';
import { isFiniteNumber, isObject, isString } from '../../protocol/guards.js';

export interface WorkerDescriptor {
  workerId: string;
  functionId: string;
  versionId: string;
  /** The bare model name the worker's engine serves. */
  model: string;
  engineKind: string;
  /** Requests the worker takes at once before it counts as full. */
  capacity: number;
  /** How often the worker heartbeats; the router expires it after missing them. */
  heartbeatMs: number;
}

export interface WorkerLoad {
  /** Requests the worker has accepted and not finished. */
  inFlight: number;
  /** What the engine itself reports (queue, KV cache), when it has a metrics endpoint. */
  engine?: EngineLoad;
}

export type RegistryEvent =
  | { type: 'register'; worker: WorkerDescriptor; load: WorkerLoad }
  | { type: 'heartbeat'; worker: WorkerDescriptor; load: WorkerLoad }
  | { type: 'deregister'; workerId: string; reason: string };

function isDescriptor(v: unknown): v is WorkerDescriptor {
  return isObject(v) && isString(v.workerId) && isString(v.functionId) && isString(v.versionId) && isString(v.model) &&
    isString(v.engineKind) && isFiniteNumber(v.capacity) && v.capacity > 0 && isFiniteNumber(v.heartbeatMs) && v.heartbeatMs > 0;
}

const optionalNumber = (v: unknown): boolean => v === undefined || isFiniteNumber(v);

function isEngineLoad(v: unknown): v is EngineLoad {
  return isObject(v) && optionalNumber(v.running) && optionalNumber(v.waiting) && optionalNumber(v.kvCacheUsage);
}

export function parseRegistryEvent(body: unknown): RegistryEvent | undefined {
  if (!isObject(body)) return undefined;
  switch (body.type) {
    case 'register':
    case 'heartbeat':
      return isDescriptor(body.worker) && isObject(body.load) && isFiniteNumber(body.load.inFlight) &&
        (body.load.engine === undefined || isEngineLoad(body.load.engine))
        ? (body as unknown as RegistryEvent)
        : undefined;
    case 'deregister':
      return isString(body.workerId) && isString(body.reason) ? (body as unknown as RegistryEvent) : undefined;
    default:
      return undefined;
  }
}
