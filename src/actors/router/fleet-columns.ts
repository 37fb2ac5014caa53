/**
 * One function's workers as columns: typed arrays by slot, in the order of WorkerTable.ofFunction.
 * decide() classifies a thousand workers from these in a few µs, where reading four objects per
 * worker (entry, descriptor, load, breaker) took ten times that. The table writes a worker's row
 * on every change to its entry (registration, heartbeat, load event, dispatch), so the columns
 * always say what the entries say; props/decision-record.test.ts holds decide()'s classification
 * to exclusionOf's for random fleets.
 *
 * The write also keeps what the rules say of the row whatever the request (draining, unhealthy,
 * at capacity), with counts by reason, by cluster, by model and by capability, and the rows whose
 * breaker or per-minute limit leaves a rule to the request's moment. A decision then copies those
 * columns and looks again only at those rows and at the request's own exclusions, instead of
 * running the rule chain over every worker (decision.ts).
 */
import type { EngineCapability } from '../../engine-adapters/adapter.js';
import { reasonCodeCount } from './candidate-table.js';
import { exclusionCodes } from './exclusion-codes.js';
import { hash53 } from './hash.js';
import type { WorkerDescriptor } from './registry.protocol.js';
import type { WorkerEntry } from './worker-table.js';

const capabilityBits: Readonly<Record<EngineCapability, number>> = { generate: 1, embed: 2 };

/** The bit of a capability in the `serves` column (0 for one this router does not know: never served). */
export function capabilityBit(capability: EngineCapability): number {
  return capabilityBits[capability] ?? 0;
}

/** Model and cluster names as small integers, shared by every table; only workers' names are added. */
const nameIds = new Map<string, number>();

/** A model's or cluster's id, -1 when no worker ever had it. */
export function nameIdOf(name: string | undefined): number {
  return name === undefined ? -1 : nameIds.get(name) ?? -1;
}

function intern(name: string): number {
  let id = nameIds.get(name);
  if (id === undefined) {
    id = nameIds.size;
    nameIds.set(name, id);
  }
  return id;
}

export const draining = 1;
export const unhealthy = 2;
/** Its breaker is open or half-open: `breakerOpenedAt` and `breakerCooldownMs` say which at a time. */
export const breakerTripped = 4;
/** It has a per-minute limit (the limit columns are NaN where it has none). */
export const limited = 8;

const code = exclusionCodes;

/** A capability bit's place (0-7): its index in the per-capability counts. */
const bitPlace = (bit: number): number => 31 - Math.clz32(bit);

/** Adds `by` to a count in a map of counts, dropping it at 0. */
function tally(counts: Map<number, number>, key: number, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}

export class FleetColumns {
  readonly entries: readonly WorkerEntry[];
  #descriptors: WorkerDescriptor[];
  /** Whether a decision holds the descriptors array: the next change copies it first. */
  #shared = false;
  readonly workerIds: string[];
  readonly slotOf = new Map<string, number>();
  /** The worker id's hash, 32 bits (session affinity's rendezvous weight mixes it with the key's). */
  readonly idHash: Float64Array;
  /** The model's and the cluster's names (nameIdOf). */
  readonly models: Int32Array;
  readonly clusters: Int32Array;
  /** Capability bits (capabilityBit) of what the worker's engine does. */
  readonly serves: Uint8Array;
  /** `draining | unhealthy | breakerTripped | limited` bits. */
  readonly flags: Uint8Array;
  readonly capacity: Float64Array;
  /** In-flight requests at the worker's last report. */
  readonly reportedInFlight: Float64Array;
  /** Requests sent to it since (dispatchedSinceReport). */
  readonly dispatched: Float64Array;
  readonly breakerOpenedAt: Float64Array;
  readonly breakerCooldownMs: Float64Array;
  /** Per-minute limits, NaN where the worker has none (every comparison with NaN is false). */
  readonly tokensPerMinuteLimit: Float64Array;
  readonly requestsPerMinuteLimit: Float64Array;
  /** Tokens per minute as the router sees them (usedTokensPerMinute). */
  readonly tokensPerMinuteUsed: Float64Array;
  readonly requestsPerMinuteReported: Float64Array;
  /** Its weight for simple-shuffle: `weight`, else its capacity. */
  readonly weight: Float64Array;
  /** Its time to first token (peak-EWMA), NaN before its first request. */
  readonly ttftMs: Float64Array;
  /** Requests its engine reported waiting (0 when it reports none). */
  readonly engineWaiting: Float64Array;
  /** Its load as the router sees it: reported in flight plus dispatched since (effectiveInFlight). */
  readonly load: Float64Array;
  /** Prompt tokens queued for prefill on its engine: what its last report said was still waiting for output, plus what was sent since (prefillSinceReport). */
  readonly pendingPrefill: Float64Array;
  /**
   * What the rules that read only the row say (eligibility.ts codes): draining, unhealthy or
   * at-capacity, else 0. The breaker and the per-minute limits, which also depend on the moment or
   * the request, are left to the decision, for the rows in `deferred`.
   */
  readonly stateReason: Uint8Array;
  /** Rows per `stateReason` code, in a decision's counts layout (reasonCodeCount). */
  readonly stateCounts = new Uint32Array(reasonCodeCount);
  /** Rows whose breaker is tripped or that have a per-minute limit: a decision judges those rules itself. */
  readonly deferred = new Set<number>();
  /** Rows with `stateReason` 0, by cluster id. */
  readonly #clear = new Map<number, number>();
  /** Rows by model id, and per capability bit place. */
  readonly #byModel = new Map<number, number>();
  readonly #byCapability = new Uint32Array(8);

  constructor(entries: readonly WorkerEntry[]) {
    const n = entries.length;
    this.entries = entries;
    this.#descriptors = new Array<WorkerDescriptor>(n);
    this.workerIds = new Array<string>(n);
    this.models = new Int32Array(n);
    this.clusters = new Int32Array(n);
    this.serves = new Uint8Array(n);
    this.flags = new Uint8Array(n);
    const numbers = new Float64Array(15 * n);
    const column = (k: number): Float64Array => numbers.subarray(k * n, (k + 1) * n);
    this.capacity = column(0);
    this.reportedInFlight = column(1);
    this.dispatched = column(2);
    this.breakerOpenedAt = column(3);
    this.breakerCooldownMs = column(4);
    this.tokensPerMinuteLimit = column(5);
    this.requestsPerMinuteLimit = column(6);
    this.tokensPerMinuteUsed = column(7);
    this.requestsPerMinuteReported = column(8);
    this.idHash = column(9);
    this.weight = column(10);
    this.ttftMs = column(11);
    this.engineWaiting = column(12);
    this.load = column(13);
    this.pendingPrefill = column(14);
    this.stateReason = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      this.slotOf.set((entries[i] as WorkerEntry).descriptor.workerId, i);
      this.#write(i);
      this.#count(i, 1);
    }
  }

  get length(): number {
    return this.entries.length;
  }

  /** The workers' descriptors by slot. */
  get descriptors(): readonly WorkerDescriptor[] {
    return this.#descriptors;
  }

  /**
   * The descriptors as they are now, for a decision to keep: copied on the next change, not now,
   * so the router's decision log holds one array for all its decisions while descriptors stay the
   * same (the table keeps a worker's descriptor object while its heartbeats repeat it).
   */
  snapshotDescriptors(): readonly WorkerDescriptor[] {
    this.#shared = true;
    return this.#descriptors;
  }

  /** Whether every row serves `model` (a nameIdOf id) with capability `bit`: no worker is excluded for model-mismatch or cannot-serve. */
  allServe(model: number, bit: number): boolean {
    const n = this.entries.length;
    return this.#byModel.get(model) === n && bit !== 0 && this.#byCapability[bitPlace(bit)] === n;
  }

  /** Rows with `stateReason` 0 in a cluster (a nameIdOf id). */
  clearIn(cluster: number): number {
    return this.#clear.get(cluster) ?? 0;
  }

  /** Copies an entry's state into its row. */
  write(slot: number): void {
    this.#count(slot, -1);
    this.#write(slot);
    this.#count(slot, 1);
  }

  /** Adds a row to the counts (`by` 1) or takes it out (-1), as it is now. */
  #count(slot: number, by: 1 | -1): void {
    const reason = this.stateReason[slot] as number;
    this.stateCounts[reason] = (this.stateCounts[reason] as number) + by;
    if (reason === 0) tally(this.#clear, this.clusters[slot] as number, by);
    tally(this.#byModel, this.models[slot] as number, by);
    const serves = this.serves[slot] as number;
    for (let place = 0; place < 8; place++) if (serves & (1 << place)) this.#byCapability[place] = (this.#byCapability[place] as number) + by;
    if ((this.flags[slot] as number) & (breakerTripped | limited)) {
      if (by === 1) this.deferred.add(slot);
      else this.deferred.delete(slot);
    }
  }

  #write(slot: number): void {
    const w = this.entries[slot] as WorkerEntry;
    const { descriptor: d, load, breaker } = w;
    if (this.#descriptors[slot] !== d) {
      if (this.#shared) [this.#descriptors, this.#shared] = [this.#descriptors.slice(), false];
      this.#descriptors[slot] = d;
    }
    if (this.workerIds[slot] !== d.workerId) {
      this.workerIds[slot] = d.workerId;
      this.idHash[slot] = hash53(d.workerId) % 4294967296;
    }
    this.models[slot] = intern(d.model);
    this.clusters[slot] = intern(d.cluster);
    let serves = 0;
    for (const capability of d.serves ?? ['generate' as const]) serves |= capabilityBit(capability);
    this.serves[slot] = serves;
    const opened = breaker.openedAt();
    this.flags[slot] = (load.state === 'draining' ? draining : 0) | (load.healthy ? 0 : unhealthy) | (opened !== undefined ? breakerTripped : 0)
      | (d.limits ? limited : 0);
    this.breakerOpenedAt[slot] = opened ?? NaN;
    this.breakerCooldownMs[slot] = breaker.cooldownMs;
    this.capacity[slot] = d.capacity;
    this.reportedInFlight[slot] = load.inFlight;
    this.dispatched[slot] = w.dispatchedSinceReport;
    this.tokensPerMinuteLimit[slot] = d.limits?.tokensPerMinute ?? NaN;
    this.requestsPerMinuteLimit[slot] = d.limits?.requestsPerMinute ?? NaN;
    this.tokensPerMinuteUsed[slot] = load.usage.tokensPerMinute + w.tokensSinceReport;
    this.requestsPerMinuteReported[slot] = load.usage.requestsPerMinute;
    this.weight[slot] = d.weight ?? d.capacity;
    this.ttftMs[slot] = load.ttftMs ?? NaN;
    this.engineWaiting[slot] = load.engine?.waiting ?? 0;
    this.pendingPrefill[slot] = (load.prefilling ?? 0) + w.prefillSinceReport;
    const inFlight = load.inFlight + w.dispatchedSinceReport;
    this.load[slot] = inFlight;
    const flag = this.flags[slot] as number;
    this.stateReason[slot] = flag & draining ? code.draining : flag & unhealthy ? code.unhealthy : inFlight >= d.capacity ? code['at-capacity'] : 0;
  }
}
