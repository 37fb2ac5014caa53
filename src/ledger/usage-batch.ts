/**
 * Usage records travel to the stream in batches: one JetStream message (and one acknowledgement)
 * for the records of one subject that ended within a short window, instead of one per request
 * (docs/benchmarks.md: the per-record publish cost the gateway a socket write, a read, an Error
 * built by nats-core, and nats-server a file-store write per request). A batch is made once and
 * retried whole under its own message id, so a batch that was stored but not acknowledged is
 * dropped by the server as a duplicate when retried. A message holds either one record (as before
 * batches existed) or an array of them; readers take both.
 */
import { randomUUID } from 'node:crypto';
import { defaultCluster, subjects } from '../transport/subjects.js';
import type { UsageRecord } from './usage-ledger.js';

export interface UsageBatch {
  /** The message id: the record's own id for a batch of one, else made for the batch. */
  id: string;
  subject: string;
  records: UsageRecord[];
  /** Failed appends so far, and how many records had been stored when it first failed. */
  failures: number;
  appendedThen: number;
}

export interface BatchLimits {
  maxRecords: number;
  /** Of the records' JSON (a batch's msgpack is smaller): well under nats-server's 1 MiB max_payload. */
  maxBytes: number;
}

export const defaultBatchLimits: BatchLimits = { maxRecords: 128, maxBytes: 256 * 1024 };

export const subjectOf = (record: UsageRecord): string => subjects.usage(record.cluster ?? defaultCluster, record.tenant);

export function singleBatch(record: UsageRecord): UsageBatch {
  return { id: record.recordId ?? record.requestId, subject: subjectOf(record), records: [record], failures: 0, appendedThen: 0 };
}

/** The records, in order, grouped by subject into batches within `limits`; `bytes` gives each record's size. */
export function formBatches(records: readonly UsageRecord[], bytes: (r: UsageRecord) => number, limits: BatchLimits = defaultBatchLimits): UsageBatch[] {
  const open = new Map<string, { batch: UsageBatch; bytes: number }>();
  const out: UsageBatch[] = [];
  for (const record of records) {
    const subject = subjectOf(record);
    const size = bytes(record);
    let current = open.get(subject);
    if (current && (current.batch.records.length >= limits.maxRecords || current.bytes + size > limits.maxBytes)) current = undefined;
    if (!current) {
      current = { batch: { id: '', subject, records: [], failures: 0, appendedThen: 0 }, bytes: 0 };
      open.set(subject, current);
      out.push(current.batch);
    }
    current.batch.records.push(record);
    current.bytes += size;
  }
  for (const batch of out) {
    const only = batch.records.length === 1 ? batch.records[0] : undefined;
    batch.id = only ? only.recordId ?? only.requestId : `batch-${randomUUID()}`;
  }
  return out;
}

/** What is published: a batch of one is the record itself (what readers before batches understand). */
export function batchBody(batch: UsageBatch): UsageRecord | UsageRecord[] {
  return batch.records.length === 1 ? batch.records[0] as UsageRecord : batch.records;
}
