/**
 * One routing decision, pure: classify every worker of the function (eligible, or why not), prefer
 * the router's own cluster when it has an eligible worker there, let the method choose, and keep
 * what a record of it needs for `GET /admin/api/decisions/<request-id>`.
 */
import type { Locality, RoutingMethod, RoutingOptions } from '../../control/function.schema.js';
import { type ExclusionReason, exclusionOf, exclusionReasons } from './eligibility.js';
import type { RemoteCandidate, SpillReason } from './locality.js';
import type { WorkerDescriptor } from './registry.protocol.js';
import { routingMethodFns } from './methods/index.js';
import type { PrefixIndexKind, RoutingRequest, RoutingState } from './routing-request.js';
import { effectiveInFlight, type WorkerEntry } from './worker-table.js';

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

/** `spilled`: sent to another cluster's routers, whose own record names the worker. */
export type DecisionOutcome = 'dispatched' | 'spilled' | 'no_active_backend' | 'no_eligible_candidates';

/** A decision as the router keeps it: the candidates stay in columns until someone asks. */
export type StoredDecision = Omit<DecisionRecord, 'candidates' | 'at'> & { candidates: CandidateTable | readonly CandidateRecord[]; at: number };

export interface DecisionRecord {
  requestId: string;
  /** 1 for the first dispatch; retries on other workers add one. */
  attempt: number;
  routerId: string;
  at: string;
  functionId: string;
  model: string;
  method: RoutingMethod;
  /** Whether the method came from the request's `x-llmux-routing-method` header. */
  overridden: boolean;
  candidates: CandidateRecord[];
  winner?: string;
  outcome: DecisionOutcome;
  /** The deciding router's cluster (each candidate names its own). */
  cluster: string;
  /** The model's locality setting as applied (a spilled request is routed as `strict`). */
  locality: Locality;
  /** Remote clusters weighed from their summaries, when the router considered leaving its own. */
  remoteCandidates?: readonly RemoteCandidate[];
  /** Where the request was spilled, and why. */
  spill?: { cluster: string; reason: SpillReason };
  /** The cluster whose router spilled the request here: it is routed here, never spilled again. */
  spilledFrom?: string;
  /** Time spent deciding, microseconds. */
  decisionMicros: number;
  /** Prefix methods: which index matched the prompt (`kv-events`: some candidate's engine's own events). */
  index?: PrefixIndexKind;
}

export interface DecideInput {
  request: RoutingRequest;
  method: RoutingMethod;
  options: RoutingOptions;
  /** Every worker registered for the request's function. */
  workers: readonly WorkerEntry[];
  state: RoutingState;
  now: number;
  /** The router's cluster: its eligible workers are preferred. */
  cluster?: string;
}

const reasonCodes = [undefined, ...exclusionReasons, 'other-cluster'] as const;
type Reason = (typeof reasonCodes)[number];
const codeOf = new Map<Reason, number>(reasonCodes.map((r, i) => [r, i]));

/**
 * The candidates of one decision in columns (typed arrays, plus the descriptors array) rather than
 * one object per worker: with a thousand workers a decision allocates a few arrays instead of a
 * thousand objects. Records are built only when someone asks for them.
 */
export class CandidateTable {
  readonly descriptors: WorkerDescriptor[];
  readonly inFlight: Float64Array;
  readonly reasons: Uint8Array;
  /** NaN where the method gave no score. */
  readonly scores: Float64Array;

  constructor(workers: readonly WorkerEntry[]) {
    const n = workers.length;
    this.descriptors = new Array<WorkerDescriptor>(n);
    this.inFlight = new Float64Array(n);
    this.reasons = new Uint8Array(n);
    this.scores = new Float64Array(n);
    // Plain loops: typed-array `from` with a mapper and `fill` cost more than the decision itself.
    for (let i = 0; i < n; i++) {
      const w = workers[i] as WorkerEntry;
      this.descriptors[i] = w.descriptor;
      this.inFlight[i] = effectiveInFlight(w);
      this.scores[i] = NaN;
    }
  }

  get length(): number {
    return this.descriptors.length;
  }

  excluded(i: number): Reason {
    return reasonCodes[this.reasons[i] as number];
  }

  records(): CandidateRecord[] {
    return this.descriptors.map((d, i) => {
      const excluded = this.excluded(i);
      const score = this.scores[i] as number;
      return {
        workerId: d.workerId, cluster: d.cluster, inFlight: this.inFlight[i] as number, capacity: d.capacity,
        ...(excluded ? { excluded } : {}), ...(Number.isNaN(score) ? {} : { score }),
      };
    });
  }

  /** "3 worker(s): 2 draining, 1 circuit-open" */
  summary(): string {
    if (this.length === 0) return 'no worker serves it';
    const counts = new Map<string, number>();
    for (let i = 0; i < this.length; i++) {
      const reason = this.excluded(i) ?? 'eligible';
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
    }
    return `${this.length} worker(s): ${[...counts].map(([reason, n]) => `${n} ${reason}`).join(', ')}`;
  }
}

export interface Decision {
  winner: WorkerEntry | undefined;
  candidates: CandidateTable;
  /** Prefix methods: the index used, and the share of the prompt the winner was expected to hold. */
  index?: PrefixIndexKind;
  winnerCached?: number;
}

export function decide({ request, method, options, workers, state, now, cluster }: DecideInput): Decision {
  const table = new CandidateTable(workers);
  const eligible: WorkerEntry[] = [];
  const eligibleIndex: number[] = [];
  const serving: WorkerEntry[] = [];
  workers.forEach((w, i) => {
    const excluded = exclusionOf(w, request, now);
    if (excluded !== 'model-mismatch' && excluded !== 'cannot-serve') serving.push(w);
    if (excluded) {
      table.reasons[i] = codeOf.get(excluded) as number;
    } else {
      eligible.push(w);
      eligibleIndex.push(i);
    }
  });
  let candidates = eligible;
  let candidateIndex = eligibleIndex;
  if (cluster !== undefined && eligible.some((w) => w.descriptor.cluster === cluster) && eligible.some((w) => w.descriptor.cluster !== cluster)) {
    candidates = [];
    candidateIndex = [];
    eligible.forEach((w, k) => {
      const i = eligibleIndex[k] as number;
      if (w.descriptor.cluster === cluster) {
        candidates.push(w);
        candidateIndex.push(i);
      } else {
        table.reasons[i] = codeOf.get('other-cluster') as number;
      }
    });
  }
  const pick = routingMethodFns[method](candidates, { request, options, state, serving });
  pick?.scores?.forEach((score, k) => {
    if (score !== undefined) table.scores[candidateIndex[k] as number] = score;
  });
  const winnerAt = pick?.cached && pick.winner ? candidates.indexOf(pick.winner) : -1;
  return {
    winner: pick?.winner, candidates: table, ...(pick?.index ? { index: pick.index } : {}),
    ...(winnerAt >= 0 ? { winnerCached: pick?.cached?.[winnerAt] as number } : {}),
  };
}
