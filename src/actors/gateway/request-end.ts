/**
 * What happens when a request is over, however it ended: its reservation is settled with what it
 * used, and its usage record goes to the ledger. The same for function requests and route requests.
 */
import { randomUUID } from 'node:crypto';
import type { UsageLedger, UsageRecord } from '../../ledger/usage-ledger.js';
import type { LimiterClient } from './limiter-client.js';
import type { SessionEnd } from './request-session.js';

/** The record's fields known before the request runs. */
export type RecordBase = Omit<UsageRecord, 'recordId' | 'promptTokens' | 'completionTokens' | 'cachedTokens' | 'end' | 'status' | 'outcome' | 'workerId' | 'finishReason' | 'errorCode'>;

export function onRequestEnd(base: RecordBase, settle: { limiter: LimiterClient; reservationId: string } | undefined, ledger: UsageLedger | undefined): (end: SessionEnd) => void {
  // The ledger's de-duplication key: one per request, whatever id the client sent.
  const recordId = randomUUID();
  return (end) => {
    settle?.limiter.settle(settle.reservationId, end.promptTokens, end.completionTokens);
    ledger?.append({
      ...base, recordId, promptTokens: end.promptTokens, completionTokens: end.completionTokens, cachedTokens: end.cachedTokens ?? 0,
      end: new Date().toISOString(), status: end.status, outcome: end.outcome,
      ...(end.workerId ? { workerId: end.workerId } : {}), ...(end.finishReason ? { finishReason: end.finishReason } : {}),
      ...(end.errorCode ? { errorCode: end.errorCode } : {}),
    });
  };
}
