/**
 * The usage ledger: one record per request (finished, failed or cancelled) appended to the usage
 * stream of the gateway's cluster (JetStream, file storage, placed in that cluster: `LLMUX_USAGE`
 * for the default cluster, `LLMUX_USAGE_<cluster>` for others). Records that end within
 * `batchDelayMs` of each other share one message (usage-batch.ts) whose `Nats-Msg-Id` is made once for
 * the batch; a batch of one carries the record's own id, made by the gateway (never the client's
 * `x-request-id`, which a client may reuse, or copy from another tenant's request to have its own go
 * unbilled as a "duplicate"). Batches wait in an outbox until the server acknowledges them and are
 * retried whole, with backoff, while it is away (a restart, a partition); a retry of a batch that was
 * stored but not acknowledged is dropped by the server as a duplicate. So every request has exactly
 * one record, whatever happens to NATS.
 * The gateway's own crash loses the records still in its outbox (docs/policy.md). Readers
 * (`llmux usage`) read every cluster's stream (`readAllUsageRecords`).
 */
import type { Logger } from '../observability/logger.js';
import { defaultCluster, encodeSegment, subjects } from '../transport/subjects.js';
import { batchBody, defaultBatchLimits, formBatches, singleBatch, subjectOf, type UsageBatch } from './usage-batch.js';
import type { DurableStream, Transport } from '../transport/transport.js';

/** What every usage stream's name starts with. */
export const usageStreamPrefix = 'LLMUX_USAGE';

/** The usage stream of `cluster`. */
export function usageStreamName(cluster: string = defaultCluster): string {
  return cluster === defaultCluster ? usageStreamPrefix : `${usageStreamPrefix}_${encodeSegment(cluster)}`;
}

export interface UsageRecord {
  /** Made by the gateway, unique per request: what the ledger de-duplicates on. Absent in records written before it existed. */
  recordId?: string;
  /** The request id the client saw (its own `x-request-id`, or one the gateway made). */
  requestId: string;
  /** The cluster of the gateway that served it (absent in records written before clusters existed: the default one). */
  cluster?: string;
  tenant: string;
  keyId: string;
  functionId: string;
  versionId: string;
  model: string;
  workerId?: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Tokens reserved at admission (prompt as the gateway counted it + the completion budget), when limits applied. */
  reservedTokens?: number;
  /** When the limiter admitted it, by the limiter's clock (what its windows are measured in), when limits applied. */
  admittedAt?: string;
  /** ISO times: when the gateway received the request and when it ended. */
  start: string;
  end: string;
  /** HTTP status sent (499: the client went away). */
  status: number;
  outcome: 'ok' | 'failed' | 'cancelled';
  finishReason?: string;
  errorCode?: string;
}

/**
 * The usage stream of `cluster`, created when missing. In a supercluster it is placed in the cluster
 * itself (when this connection's server is in it), so its records are stored while the cluster is cut off.
 */
export async function openUsageStream(transport: Transport, cluster: string = defaultCluster): Promise<DurableStream> {
  const here = transport.serverCluster() === cluster;
  return transport.durableStream(usageStreamName(cluster), {
    subjects: [subjects.usageOf(cluster)], duplicateWindowMs: 10 * 60_000, ...(here ? { placementCluster: cluster } : {}),
  });
}

/**
 * A record that can never be stored: a subject past what nats-server takes on one line (it closes the
 * connection: every other record, and every stream on that connection, would suffer), a record past
 * what one message carries, or one that kept failing while records after it were stored.
 */
const maxSubjectLength = 1_024;
const maxRecordBytes = 64 * 1024;
const maxFailuresWhileOthersLand = 5;
/** A batch of several records that failed this often is sent again as one message per record, so one bad record holds up no other. */
const splitAfterFailures = 2;
/** Set-aside records kept in memory for the operator to inspect (the oldest dropped past this). */
const keptAside = 1_000;
/** How long a record waits for others to share its message (docs/benchmarks.md); `flush` sends at once. */
export const defaultBatchDelayMs = 20;

export class UsageLedger {
  /** Records not yet in a batch, with their JSON sizes. */
  #outbox: UsageRecord[] = [];
  readonly #sizes = new WeakMap<UsageRecord, number>();
  /** Batches made and waiting for their (next) append. */
  readonly #ready: UsageBatch[] = [];
  /** Records that can never be stored, newest last (see `setAside`). */
  readonly setAsideRecords: UsageRecord[] = [];
  setAside = 0;
  /** Records in appends not yet answered. */
  #inFlight = 0;
  #batchesInFlight = 0;
  #backoffMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #batchTimer: NodeJS.Timeout | undefined;
  #idle: Array<() => void> = [];
  /** Records stored (a duplicate included), and records the server said it already had. */
  appended = 0;
  duplicates = 0;

  constructor(readonly stream: DurableStream, readonly log: Logger, readonly maxInFlight = 64, readonly onSetAside: (why: string) => void = () => undefined,
    readonly cluster: string = defaultCluster, readonly batchDelayMs = defaultBatchDelayMs) {}

  append(record: UsageRecord): void {
    if (this.cluster !== defaultCluster) record.cluster = this.cluster;
    const check = publishable(record);
    if (typeof check === 'string') return this.#putAside(record, check);
    this.#sizes.set(record, check);
    this.#outbox.push(record);
    if (this.#outbox.length >= defaultBatchLimits.maxRecords || this.batchDelayMs <= 0) return this.#formBatches();
    this.#batchTimer ??= setTimeout(() => this.#formBatches(), this.batchDelayMs);
  }

  /** Keeps a record that can never be stored out of the outbox, so it holds up nothing, and says so. */
  #putAside(record: UsageRecord, why: string): void {
    this.setAside++;
    this.setAsideRecords.push(record);
    if (this.setAsideRecords.length > keptAside) this.setAsideRecords.shift();
    this.onSetAside(why);
    // The tenant may be what is wrong with it: log its length, not the value.
    this.log.error({ requestId: record.requestId, recordId: record.recordId, tenantLength: record.tenant.length, why }, 'usage record can never be stored; set aside');
  }

  /** Records not yet acknowledged. */
  get pending(): number {
    let ready = 0;
    for (const b of this.#ready) ready += b.records.length;
    return this.#outbox.length + ready + this.#inFlight;
  }

  /** Resolves when every record is stored, or after `timeoutMs`. Sends what waits for a batch at once. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.#outbox.length > 0) this.#formBatches();
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => {
      this.#idle.push(resolve);
      setTimeout(resolve, timeoutMs).unref();
    });
  }

  #formBatches(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    const records = this.#outbox;
    this.#outbox = [];
    this.#ready.push(...formBatches(records, (r) => this.#sizes.get(r) ?? 0));
    this.#pump();
  }

  #pump(): void {
    if (this.#timer) return;
    while (this.#ready.length > 0 && this.#batchesInFlight < this.maxInFlight) {
      const batch = this.#ready.shift() as UsageBatch;
      const count = batch.records.length;
      this.#inFlight += count;
      this.#batchesInFlight++;
      this.stream.append(batch.subject, batchBody(batch), batch.id).then((ack) => {
        this.appended += count;
        if (ack.duplicate) this.duplicates += count;
        this.#backoffMs = 0;
      }, (error: unknown) => this.#failed(batch, error)).finally(() => {
        this.#inFlight -= count;
        this.#batchesInFlight--;
        if (this.pending === 0) for (const done of this.#idle.splice(0)) done();
        if (this.#backoffMs > 0 && !this.#timer) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.#pump();
          }, this.#backoffMs);
          this.#timer.unref();
        } else {
          this.#pump();
        }
      });
    }
  }

  #failed(batch: UsageBatch, error: unknown): void {
    if (batch.failures === 0) batch.appendedThen = this.appended;
    batch.failures++;
    const why = error instanceof Error ? error.message : String(error);
    if (batch.records.length > 1 && batch.failures >= splitAfterFailures) {
      // One message per record from now on, each under the record's own id (a copy of the batch the
      // server did store is then stored again: readers drop the repeat by record id).
      this.#ready.push(...batch.records.map(singleBatch));
    } else if (batch.failures >= maxFailuresWhileOthersLand && this.appended > batch.appendedThen) {
      for (const record of batch.records) this.#putAside(record, `failed ${batch.failures} times while other records were stored: ${why}`);
      return;
    } else {
      // To the back, so one batch that keeps failing holds up none behind it; the same message id,
      // so a copy the server did store is not stored twice.
      this.#ready.push(batch);
    }
    this.#backoffMs = Math.min(5_000, Math.max(100, this.#backoffMs * 2));
    if (this.#backoffMs >= 1_600) this.log.warn({ pending: this.pending, err: why }, 'usage ledger unavailable; retrying');
  }
}

/** Why a record can never be stored, or its size in JSON bytes. */
function publishable(record: UsageRecord): string | number {
  const subject = subjectOf(record);
  if (subject.length > maxSubjectLength) return `its subject is ${subject.length} characters (at most ${maxSubjectLength})`;
  const bytes = Buffer.byteLength(JSON.stringify(record));
  if (bytes > maxRecordBytes) return `it is ${bytes} bytes (at most ${maxRecordBytes})`;
  return bytes;
}

/** Why a record can never be stored, if it cannot. */
export function unpublishable(record: UsageRecord): string | undefined {
  const check = publishable(record);
  return typeof check === 'string' ? check : undefined;
}

function isUsageRecord(v: unknown): v is UsageRecord {
  const r = v as Partial<UsageRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.requestId === 'string' && typeof r.tenant === 'string' && typeof r.start === 'string' &&
    typeof r.promptTokens === 'number' && typeof r.completionTokens === 'number';
}

/** Every record stored since `since` (epoch ms; records are stored when requests end, so read a little earlier than the range). */
export async function readUsageRecords(stream: DurableStream, since = 0): Promise<UsageRecord[]> {
  const out: UsageRecord[] = [];
  const seen = new Set<string>();
  for await (const m of stream.read(since)) {
    for (const r of Array.isArray(m.body) ? m.body as unknown[] : [m.body]) {
      if (!isUsageRecord(r)) continue;
      // A batch split after failing may have been stored as well: a record id counts once.
      if (r.recordId !== undefined) {
        if (seen.has(r.recordId)) continue;
        seen.add(r.recordId);
      }
      out.push(r);
    }
  }
  return out;
}

/**
 * The records of every cluster's usage stream since `since`, and the streams that could not be read
 * (their cluster cut off, say), by name with the reason: a reader must say what it did not count.
 */
export async function readAllUsageRecords(transport: Transport, since = 0): Promise<{ records: UsageRecord[]; streams: string[]; unread: Array<{ stream: string; error: string }> }> {
  const streams = await transport.durableStreams(usageStreamPrefix);
  const records: UsageRecord[] = [];
  const unread: Array<{ stream: string; error: string }> = [];
  for (const [name, stream] of streams) {
    try {
      records.push(...(await readUsageRecords(stream, since)));
    } catch (error) {
      unread.push({ stream: name, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { records, streams: [...streams.keys()], unread };
}
