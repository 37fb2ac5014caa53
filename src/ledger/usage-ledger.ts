/**
 * The usage ledger: one record per request (finished, failed or cancelled) appended to the usage
 * stream of the gateway's cluster (JetStream, file storage, placed in that cluster: `LLMUX_USAGE`
 * for the default cluster, `LLMUX_USAGE_<cluster>` for others) with `Nats-Msg-Id` = the record's own id, made by the
 * gateway (never the client's `x-request-id`, which a client may reuse, or copy from another
 * tenant's request to have its own go unbilled as a "duplicate"). Records wait
 * in an outbox until the server acknowledges them and are retried with backoff while it is away
 * (a restart, a partition); a retry of a record that was stored but not acknowledged is dropped by
 * the server as a duplicate. So every request has exactly one record, whatever happens to NATS.
 * The gateway's own crash loses the records still in its outbox (docs/policy.md). Readers
 * (`llmux usage`) read every cluster's stream (`readAllUsageRecords`).
 */
import type { Logger } from '../observability/logger.js';
import { defaultCluster, encodeSegment, subjects } from '../transport/subjects.js';
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
/** Set-aside records kept in memory for the operator to inspect (the oldest dropped past this). */
const keptAside = 1_000;

export class UsageLedger {
  readonly #outbox: UsageRecord[] = [];
  /** Failed appends per record, while others were stored since its first failure. */
  readonly #failures = new Map<UsageRecord, { count: number; appendedThen: number }>();
  /** Records that can never be stored, newest last (see `setAside`). */
  readonly setAsideRecords: UsageRecord[] = [];
  setAside = 0;
  #inFlight = 0;
  #backoffMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #idle: Array<() => void> = [];
  appended = 0;
  duplicates = 0;

  constructor(readonly stream: DurableStream, readonly log: Logger, readonly maxInFlight = 64, readonly onSetAside: (why: string) => void = () => undefined,
    readonly cluster: string = defaultCluster) {}

  append(record: UsageRecord): void {
    if (this.cluster !== defaultCluster) record.cluster = this.cluster;
    const why = unpublishable(record);
    if (why) return this.#putAside(record, why);
    this.#outbox.push(record);
    this.#pump();
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
    return this.#outbox.length + this.#inFlight;
  }

  /** Resolves when every record is stored, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => {
      this.#idle.push(resolve);
      setTimeout(resolve, timeoutMs).unref();
    });
  }

  #pump(): void {
    if (this.#timer) return;
    while (this.#outbox.length > 0 && this.#inFlight < this.maxInFlight) {
      const record = this.#outbox.shift() as UsageRecord;
      this.#inFlight++;
      this.stream.append(subjects.usage(record.cluster ?? defaultCluster, record.tenant), record, record.recordId ?? record.requestId).then((ack) => {
        this.appended++;
        if (ack.duplicate) this.duplicates++;
        this.#backoffMs = 0;
        this.#failures.delete(record);
      }, (error: unknown) => {
        const failed = this.#failures.get(record) ?? { count: 0, appendedThen: this.appended };
        failed.count++;
        this.#failures.set(record, failed);
        if (failed.count >= maxFailuresWhileOthersLand && this.appended > failed.appendedThen) {
          this.#failures.delete(record);
          this.#putAside(record, `failed ${failed.count} times while other records were stored: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        // To the back, so one record that keeps failing holds up none behind it; the same message id,
        // so a copy the server did store is not stored twice.
        this.#outbox.push(record);
        this.#backoffMs = Math.min(5_000, Math.max(100, this.#backoffMs * 2));
        if (this.#backoffMs >= 1_600) this.log.warn({ pending: this.pending, err: error instanceof Error ? error.message : String(error) }, 'usage ledger unavailable; retrying');
      }).finally(() => {
        this.#inFlight--;
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
}

/** Why a record can never be stored, if it cannot. */
export function unpublishable(record: UsageRecord): string | undefined {
  const subject = subjects.usage(record.cluster ?? defaultCluster, record.tenant);
  if (subject.length > maxSubjectLength) return `its subject is ${subject.length} characters (at most ${maxSubjectLength})`;
  const bytes = Buffer.byteLength(JSON.stringify(record));
  if (bytes > maxRecordBytes) return `it is ${bytes} bytes (at most ${maxRecordBytes})`;
  return undefined;
}

function isUsageRecord(v: unknown): v is UsageRecord {
  const r = v as Partial<UsageRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.requestId === 'string' && typeof r.tenant === 'string' && typeof r.start === 'string' &&
    typeof r.promptTokens === 'number' && typeof r.completionTokens === 'number';
}

/** Every record stored since `since` (epoch ms; records are stored when requests end, so read a little earlier than the range). */
export async function readUsageRecords(stream: DurableStream, since = 0): Promise<UsageRecord[]> {
  const out: UsageRecord[] = [];
  for await (const m of stream.read(since)) if (isUsageRecord(m.body)) out.push(m.body);
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
