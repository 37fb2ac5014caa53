/** W3C trace context: keep a valid incoming `traceparent`, else start a new trace. */
import { validTraceparent } from '../../observability/traceparent.js';
import { randomHex } from './random-pool.js';

export function traceparentFor(incoming: string | undefined): string {
  if (validTraceparent(incoming)) return incoming;
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is sane, else a fresh one. */
export function requestIdFor(incoming: string | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomHex(12);
}
