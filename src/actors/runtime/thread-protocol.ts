/**
 * What crosses the boundary between a process's main thread and a worker thread hosting actors
 * (thread-host.ts). The actors on the thread own their NATS connections there, so their own
 * messages never cross this boundary: only the host's control does (started, metrics, stop).
 * Metrics come back as a transferred buffer (no copy of the JSON text).
 */
import { isObject } from '../../protocol/guards.js';

export type ToThread =
  | { type: 'metrics'; id: number }
  | { type: 'stop' };

export type FromThread =
  /** Everything the thread was asked to start is running; `info` says what it is (its engine URLs…). */
  | { type: 'ready'; info: Record<string, unknown> }
  /** Starting failed: the thread exits after this. */
  | { type: 'failed'; message: string }
  /** prom-client's getMetricsAsJSON() of the thread's registries, UTF-8 JSON, transferred. */
  | { type: 'metrics'; id: number; json: ArrayBuffer }
  | { type: 'stopped' };

export function parseFromThread(value: unknown): FromThread | undefined {
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'ready':
      return isObject(value.info) ? { type: 'ready', info: value.info } : undefined;
    case 'failed':
      return typeof value.message === 'string' ? { type: 'failed', message: value.message } : undefined;
    case 'metrics':
      return typeof value.id === 'number' && value.json instanceof ArrayBuffer ? { type: 'metrics', id: value.id, json: value.json } : undefined;
    case 'stopped':
      return { type: 'stopped' };
    default:
      return undefined;
  }
}

export function parseToThread(value: unknown): ToThread | undefined {
  if (!isObject(value)) return undefined;
  if (value.type === 'stop') return { type: 'stop' };
  if (value.type === 'metrics' && typeof value.id === 'number') return { type: 'metrics', id: value.id };
  return undefined;
}
