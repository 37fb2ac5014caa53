/**
 * One routing decision, pure: classify every worker of the function (eligible, or why not), prefer
 * the router's own cluster when it has an eligible worker there, let the method choose, and keep
 * what a record of it needs for `GET /admin/api/decisions/<request-id>`.
 */
import type { Locality, RoutingMethod, RoutingOptions } from '../../control/function.schema.js';
import { type CandidateRecord, CandidateTable, otherCluster } from './candidate-table.js';
import { deployedIn, exclusionCodes } from './eligibility.js';
import { breakerTripped, capabilityBit, type FleetColumns, limited, nameIdOf } from './fleet-columns.js';
import type { RemoteCandidate, SpillReason } from './locality.js';
import type { WorkerDescriptor } from './registry.protocol.js';
import { routingMethodFns } from './methods/index.js';
import type { MethodContext, PrefixIndexKind, RoutingRequest, RoutingState } from './routing-request.js';
import type { WorkerEntry } from './worker-table.js';

export { CandidateTable, type CandidateRecord };

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
  /** Every worker registered for the request's function (WorkerTable.fleet). */
  fleet: FleetColumns;
  state: RoutingState;
  now: number;
  /** The router's cluster: its eligible workers are preferred. */
  cluster?: string;
}

export interface Decision {
  winner: WorkerEntry | undefined;
  candidates: CandidateTable;
  /** Prefix methods: the index used, and the share of the prompt the winner was expected to hold. */
  index?: PrefixIndexKind;
  winnerCached?: number;
}

/** Scratch reused by every decision (decide() never yields): where each candidate sits in the fleet, and the reverse. */
let slotsOf = new Int32Array(1024);
let candidateOf = new Int32Array(1024);
/** The candidates handed to the method, when not every worker is one (no method keeps them). */
const chosenScratch: WorkerEntry[] = [];

const code = exclusionCodes;

export function decide({ request, method, options, fleet, state, now, cluster }: DecideInput): Decision {
  const table = new CandidateTable(fleet.snapshotDescriptors());
  const home = nameIdOf(cluster);
  const { eligible, local } = classify(fleet, request, now, home, table);
  // The router's own cluster first: eligible workers elsewhere wait while it has one.
  const split = cluster !== undefined && local > 0 && local < eligible;
  const candidates = gather(fleet, table, split ? local : eligible, split ? home : -1);
  const pick = routingMethodFns[method](candidates, methodContext(request, options, state, fleet, table.reasons));
  const scored = pick?.scores;
  if (scored) copyScores(scored, table.scores, slotsOf, candidates.length === fleet.length);
  const winnerSlot = pick?.cached && pick.winner ? fleet.slotOf.get(pick.winner.descriptor.workerId) : undefined;
  const winnerAt = winnerSlot === undefined ? -1 : (candidateOf[winnerSlot] as number);
  // Set field by field: spreading optional parts into a literal goes through V8's slow object clone.
  const decision: Decision = { winner: pick?.winner, candidates: table };
  if (pick?.index) decision.index = pick.index;
  if (winnerAt >= 0) decision.winnerCached = pick?.cached?.[winnerAt] as number;
  return decision;
}

/**
 * A method's scores into the record, by each candidate's slot (`at`). Methods score into a
 * Float64Array (min-score.ts scratchScores), read here without a check for holes, and in one copy
 * when every worker of the fleet is a candidate (slot k is candidate k); other arrays may leave a
 * candidate unscored (undefined).
 */
function copyScores(scored: ArrayLike<number | undefined>, into: Float64Array, at: Int32Array, everyWorker: boolean): void {
  if (scored instanceof Float64Array) {
    if (everyWorker && scored.length === into.length) return into.set(scored);
    for (let k = 0; k < scored.length; k++) into[at[k] as number] = scored[k] as number;
    return;
  }
  for (let k = 0; k < scored.length; k++) {
    const score = scored[k];
    if (score !== undefined) into[at[k] as number] = score;
  }
}

/**
 * exclusionOf's rules in its order, from the columns, into the table (props/decision-record.test.ts
 * holds the two equal). Returns how many are eligible, and how many of them in the `home` cluster.
 */
function classify(fleet: FleetColumns, request: RoutingRequest, now: number, home: number, table: CandidateTable): { eligible: number; local: number } {
  const tally = classifyFromRows(fleet, request, now, home, table);
  const model = nameIdOf(request.model);
  const need = capabilityBit(request.needs ?? 'generate');
  if (request.deployments || !fleet.allServe(model, need)) excludeUnserved(fleet, request, model, need, home, table, tally);
  return tally;
}

/**
 * The row-only rules as the fleet's writes keep them (fleet-columns.ts `stateReason`), copied with
 * their counts, then only the rows whose breaker or per-minute limit the moment and the request
 * decide, and the workers that already failed this request.
 */
function classifyFromRows(fleet: FleetColumns, request: RoutingRequest, now: number, home: number, table: CandidateTable): { eligible: number; local: number } {
  const { inFlight, scores, reasons, counts } = table;
  inFlight.set(fleet.load);
  reasons.set(fleet.stateReason);
  counts.set(fleet.stateCounts);
  scores.fill(NaN);
  const tally = { eligible: counts[0] as number, local: fleet.clearIn(home) };
  const { flags, load, breakerOpenedAt, breakerCooldownMs, tokensPerMinuteUsed, tokensPerMinuteLimit, requestsPerMinuteReported, requestsPerMinuteLimit, dispatched } = fleet;
  const { tokens } = request;
  for (const slot of fleet.deferred) {
    const base = reasons[slot] as number;
    if (base === code.draining || base === code.unhealthy) continue;
    const flag = flags[slot] as number;
    let reason = base;
    if (flag & breakerTripped && (now - (breakerOpenedAt[slot] as number) < (breakerCooldownMs[slot] as number) || (load[slot] as number) > 0)) reason = code['circuit-open'];
    else if (base === 0 && flag & limited && ((tokensPerMinuteUsed[slot] as number) + tokens > (tokensPerMinuteLimit[slot] as number)
      || (requestsPerMinuteReported[slot] as number) + (dispatched[slot] as number) + 1 > (requestsPerMinuteLimit[slot] as number))) reason = code['over-limit'];
    if (reason !== base) exclude(table, fleet.clusters, slot, reason, home, tally);
  }
  for (const id of request.exclude) {
    const slot = fleet.slotOf.get(id);
    if (slot !== undefined && reasons[slot] !== code['failed-this-request']) exclude(table, fleet.clusters, slot, code['failed-this-request'], home, tally);
  }
  return tally;
}

/**
 * The three rules ahead of every other, which the rows cannot keep because they read the request:
 * another model, an engine that cannot do what it asks, a version its deployments leave out. A pass
 * over every worker, only for a fleet of mixed models or capabilities, or a request with deployments.
 */
function excludeUnserved(fleet: FleetColumns, request: RoutingRequest, model: number, need: number, home: number, table: CandidateTable,
  tally: { eligible: number; local: number }): void {
  const { models, serves, descriptors, clusters } = fleet;
  const { deployments } = request;
  for (let i = 0; i < fleet.length; i++) {
    const reason = models[i] !== model ? code['model-mismatch'] : ((serves[i] as number) & need) === 0 ? code['cannot-serve']
      : deployments && !deployedIn(descriptors[i] as WorkerDescriptor, deployments) ? code['not-deployed'] : 0;
    if (reason !== 0) exclude(table, clusters, i, reason, home, tally);
  }
}

/** Gives a worker an exclusion reason in place of the one it had, keeping the counts. */
function exclude(table: CandidateTable, clusters: Int32Array, slot: number, reason: number, home: number, tally: { eligible: number; local: number }): void {
  const { reasons, counts } = table;
  const from = reasons[slot] as number;
  reasons[slot] = reason;
  counts[from] = (counts[from] as number) - 1;
  counts[reason] = (counts[reason] as number) + 1;
  if (from === 0) {
    tally.eligible--;
    if (clusters[slot] === home) tally.local--;
  }
}

/**
 * The eligible workers the method chooses among (`size` of them: those in the `home` cluster when
 * it is not -1, the others marked other-cluster), where each sits (slotsOf), and the reverse (candidateOf).
 */
function gather(fleet: FleetColumns, table: CandidateTable, size: number, home: number): readonly WorkerEntry[] {
  const n = fleet.length;
  const { entries, clusters } = fleet;
  const { reasons, counts } = table;
  if (slotsOf.length < n) {
    slotsOf = new Int32Array(Math.max(n, 2 * slotsOf.length));
    candidateOf = new Int32Array(slotsOf.length);
  }
  const at = slotsOf;
  const of = candidateOf;
  if (size === n) {
    for (let i = 0; i < n; i++) at[i] = of[i] = i;
    return entries;
  }
  const chosen = chosenScratch;
  chosen.length = size;
  for (let i = 0, k = 0; i < n; i++) {
    of[i] = -1;
    if (reasons[i] !== 0) continue;
    if (home !== -1 && clusters[i] !== home) {
      reasons[i] = otherCluster;
      counts[0] = (counts[0] as number) - 1;
      counts[otherCluster] = (counts[otherCluster] as number) + 1;
      continue;
    }
    chosen[k] = entries[i] as WorkerEntry;
    of[i] = k;
    at[k++] = i;
  }
  return chosen;
}

/**
 * What a method is given. A class rather than an object literal with a getter: V8 builds such a
 * literal in its slow dictionary form, a microsecond of every decision (a CPU profile of
 * bench:routing-decision, 1,000 workers).
 */
class DecisionContext implements MethodContext {
  readonly slots = slotsOf;
  readonly candidateAt = candidateOf;

  constructor(readonly request: RoutingRequest, readonly options: RoutingOptions, readonly state: RoutingState, readonly fleet: FleetColumns,
    readonly reasons: Uint8Array) {}

  /** Only consistent hashing asks: it spans the workers serving the model, eligible or not. */
  get serving(): readonly WorkerEntry[] {
    const { reasons } = this;
    return this.fleet.entries.filter((_, i) => reasons[i] !== code['model-mismatch'] && reasons[i] !== code['cannot-serve']);
  }
}

function methodContext(request: RoutingRequest, options: RoutingOptions, state: RoutingState, fleet: FleetColumns, reasons: Uint8Array): MethodContext {
  return new DecisionContext(request, options, state, fleet, reasons);
}

/** For a test of one method: the context decide() gives it when every worker of the fleet is a candidate. */
export function everyWorkerContext(fleet: FleetColumns, request: RoutingRequest, state: RoutingState, options: RoutingOptions = {}): MethodContext {
  const table = new CandidateTable(fleet.snapshotDescriptors());
  gather(fleet, table, fleet.length, -1);
  return methodContext(request, options, state, fleet, table.reasons);
}
