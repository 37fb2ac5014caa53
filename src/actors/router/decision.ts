/**
 * One routing decision, pure: classify every worker of the function (eligible, or why not), prefer
 * the router's own cluster when it has an eligible worker there, let the method choose, and keep a
 * record of all of it for `GET /admin/api/decisions/<request-id>`.
 */
import type { RoutingMethod, RoutingOptions } from '../control/function.schema.js';
import { type ExclusionReason, exclusionOf } from './eligibility.js';
import { routingMethodFns } from './methods/index.js';
import type { RoutingRequest, RoutingState } from './routing-request.js';
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

export type DecisionOutcome = 'dispatched' | 'no_active_backend' | 'no_eligible_candidates';

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
  /** Time spent deciding, microseconds. */
  decisionMicros: number;
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

export interface Decision {
  winner: WorkerEntry | undefined;
  candidates: CandidateRecord[];
}

export function decide({ request, method, options, workers, state, now, cluster }: DecideInput): Decision {
  const records: CandidateRecord[] = [];
  const eligible: WorkerEntry[] = [];
  const eligibleRecords: CandidateRecord[] = [];
  const serving: WorkerEntry[] = [];
  for (const w of workers) {
    const record: CandidateRecord = { workerId: w.descriptor.workerId, cluster: w.descriptor.cluster, inFlight: effectiveInFlight(w), capacity: w.descriptor.capacity };
    const excluded = exclusionOf(w, request, now);
    if (excluded !== 'model-mismatch') serving.push(w);
    if (excluded) record.excluded = excluded;
    else {
      eligible.push(w);
      eligibleRecords.push(record);
    }
    records.push(record);
  }
  let candidates = eligible;
  let candidateRecords = eligibleRecords;
  if (cluster !== undefined && eligible.some((w) => w.descriptor.cluster === cluster) && eligible.some((w) => w.descriptor.cluster !== cluster)) {
    candidates = [];
    candidateRecords = [];
    eligible.forEach((w, i) => {
      const record = eligibleRecords[i] as CandidateRecord;
      if (w.descriptor.cluster === cluster) {
        candidates.push(w);
        candidateRecords.push(record);
      } else {
        record.excluded = 'other-cluster';
      }
    });
  }
  const pick = routingMethodFns[method](candidates, { request, options, state, serving });
  pick?.scores?.forEach((score, i) => {
    if (score !== undefined) (candidateRecords[i] as CandidateRecord).score = score;
  });
  return { winner: pick?.winner, candidates: records };
}
