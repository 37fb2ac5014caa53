/**
 * Who sent a frame to the gateway's inbox. A worker answers on `<inbox>.<token>.<its id>`
 * (subjects.workerAnswer), the only form its NATS identity may publish an answer in, so the last
 * token names the sender and cannot be forged. A frame on `<inbox>.<token>` comes from a control
 * identity (a router's error frame), which a worker's identity cannot publish as. Tokens are random,
 * so a worker that saw one of this gateway's reply subjects cannot guess another request's.
 */
import { encodeSegment } from '../../transport/subjects.js';

/** `rest`, the subject after `<inbox>.`: the reply token, and the signing worker's id segment if any. */
export function inboxAddress(rest: string): { token: string; signer: string | undefined } {
  const dot = rest.indexOf('.');
  return dot < 0 ? { token: rest, signer: undefined } : { token: rest.slice(0, dot), signer: rest.slice(dot + 1) };
}

/** Whether a frame that speaks for `workerId` may be taken: unsigned (a control identity) or signed by that worker. */
export function signedBy(signer: string | undefined, workerId: string): boolean {
  return signer === undefined || signer === encodeSegment(workerId);
}
