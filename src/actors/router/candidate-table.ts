/**
 * A decision's candidates as its record keeps them: every worker of the function in columns, with
 * its reason or its score, and the counts by reason.
 */
import { type ExclusionReason, exclusionReasons } from './exclusion-codes.js';
import { giveBuffer, takeBuffer } from './record-buffers.js';
import type { WorkerDescriptor } from './registry.protocol.js';

export interface CandidateRecord {
  workerId: string;
  cluster: string;
  inFlight: number;
  capacity: number;
  /** Why the worker could not take the request; `other-cluster`: eligible, but the local cluster had one. */
  excluded?: ExclusionReason | 'other-cluster';
  /** The method's score (lower is better; for simple-shuffle the chance, for session-affinity the rank). */
  score?: number;
}

const reasonCodes = [undefined, ...exclusionReasons, 'other-cluster'] as const;
type Reason = (typeof reasonCodes)[number];
/** The code of `other-cluster`: eligible, but set aside for the router's own cluster. */
export const otherCluster = reasonCodes.length - 1;
/** How many codes a decision counts workers by (its `counts`). */
export const reasonCodeCount = reasonCodes.length;

/**
 * The candidates of one decision in columns (typed arrays over one buffer, plus the descriptors)
 * rather than one object per worker: with a thousand workers a decision allocates a few arrays
 * instead of a thousand objects. Records are built only when someone asks for them (the admin
 * API); the counts by reason are kept in the pass, for the summary and the spans.
 */
export class CandidateTable {
  /** As they were at the decision (shared with the fleet until a descriptor changes: never written here). */
  readonly descriptors: readonly WorkerDescriptor[];
  readonly inFlight: Float64Array;
  /** NaN where the method gave no score. */
  readonly scores: Float64Array;
  /** Per worker: 0 eligible, else its reason's code (eligibility.ts), `other-cluster` last. */
  readonly reasons: Uint8Array;
  /** Workers per reason code. */
  readonly counts: Uint32Array;
  #buffer: ArrayBuffer | undefined;

  constructor(descriptors: readonly WorkerDescriptor[]) {
    const n = descriptors.length;
    const buffer = takeBuffer(16 * n + 4 * reasonCodes.length + n);
    this.#buffer = buffer;
    this.descriptors = descriptors;
    this.inFlight = new Float64Array(buffer, 0, n);
    this.scores = new Float64Array(buffer, 8 * n, n);
    this.counts = new Uint32Array(buffer, 16 * n, reasonCodes.length);
    this.reasons = new Uint8Array(buffer, 16 * n + 4 * reasonCodes.length, n);
    // A recycled buffer holds an older record: the pass writes every worker's columns, but adds to the counts.
    this.counts.fill(0);
  }

  /** The decision log dropped the record: its buffer goes to the next decision, and the table must not be read again. */
  release(): void {
    if (this.#buffer) giveBuffer(this.#buffer);
    this.#buffer = undefined;
  }

  get length(): number {
    return this.descriptors.length;
  }

  excluded(i: number): Reason {
    return reasonCodes[this.reasons[i] as number];
  }

  records(): CandidateRecord[] {
    if (!this.#buffer) throw new Error('a released decision record was read');
    return this.descriptors.map((d, i) => {
      const excluded = this.excluded(i);
      const score = this.scores[i] as number;
      return {
        workerId: d.workerId, cluster: d.cluster, inFlight: this.inFlight[i] as number, capacity: d.capacity,
        ...(excluded ? { excluded } : {}), ...(Number.isNaN(score) ? {} : { score }),
      };
    });
  }

  /** Workers per exclusion reason, for the reasons any worker had (from the pass's counts: no walk over the workers). */
  exclusions(): Map<string, number> {
    const out = new Map<string, number>();
    for (let code = 1; code < reasonCodes.length; code++) {
      const n = this.counts[code] as number;
      if (n > 0) out.set(reasonCodes[code] as string, n);
    }
    return out;
  }

  /** "3 worker(s): 2 draining, 1 circuit-open" (reasons in eligibility order, eligible first). */
  summary(): string {
    if (this.length === 0) return 'no worker serves it';
    const parts: string[] = [];
    this.counts.forEach((n, code) => {
      if (n > 0) parts.push(`${n} ${reasonCodes[code] ?? 'eligible'}`);
    });
    return `${this.length} worker(s): ${parts.join(', ')}`;
  }
}
