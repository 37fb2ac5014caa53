/**
 * Which cluster serves a request, pure: the router's own (the usual decision among its workers) or
 * another, whose routers then route it. From the model's `locality` (strict, prefer, any) and
 * `spillAt`, the router's local candidates, and the remote clusters' summaries.
 *
 *   strict   never leave the cluster
 *   prefer   local while a local worker is eligible and below `spillAt`; else spill to the remote
 *            cluster with the most free slots, if one has any (else local, as far as it goes)
 *   any      the cluster with the most free slots, own cluster included (a tie stays home)
 *
 * A request that was spilled here is never spilled again: one hop, then the usual answer.
 */
import type { Locality } from '../../control/function.schema.js';
import type { ExclusionReason } from './eligibility.js';
import type { WorkerDescriptor } from './registry.protocol.js';

export const spillReasons = ['local-absent', 'local-saturated', 'local-unhealthy', 'local-draining', 'local-failed', 'any-most-free'] as const;
/** Why a request left its cluster: what its local workers were (or that `any` found more room elsewhere). */
export type SpillReason = (typeof spillReasons)[number];

/** A remote cluster as a routing candidate, from its latest summary (summed over the model's versions). */
export interface RemoteCandidate {
  cluster: string;
  workers: number;
  ready: number;
  capacity: number;
  inFlight: number;
  /** Free slots as of the summary, less what this router spilled there since. */
  free: number;
  /** How old the summary is, ms. */
  ageMs: number;
}

/** The local workers of a decision, counted by what they could do for the request. */
export interface LocalView {
  /** Local workers serving the model (deployed), whatever their state. */
  serving: number;
  /** Eligible ones. */
  eligible: number;
  /** Eligible ones below the spill threshold. */
  available: number;
  /** Free slots over the eligible ones. */
  free: number;
  /** Full, over a limit, or at or above the threshold. */
  saturated: number;
  /** Unhealthy or with an open circuit. */
  unhealthy: number;
  draining: number;
  /** Already failed this request. */
  failed: number;
}

/** What a decision's candidate table offers for the view (decision.ts's CandidateTable has this shape). */
export interface CandidateColumns {
  readonly length: number;
  readonly descriptors: readonly WorkerDescriptor[];
  readonly inFlight: ArrayLike<number>;
  excluded(i: number): ExclusionReason | 'other-cluster' | undefined;
}

export function localView(candidates: CandidateColumns, cluster: string, spillAt: number): LocalView {
  const view: LocalView = { serving: 0, eligible: 0, available: 0, free: 0, saturated: 0, unhealthy: 0, draining: 0, failed: 0 };
  for (let i = 0; i < candidates.length; i++) {
    const d = candidates.descriptors[i] as WorkerDescriptor;
    if (d.cluster !== cluster) continue;
    const reason = candidates.excluded(i);
    if (reason === 'model-mismatch' || reason === 'cannot-serve' || reason === 'not-deployed' || reason === 'other-cluster') continue;
    view.serving++;
    switch (reason) {
      case undefined: {
        const inFlight = candidates.inFlight[i] as number;
        view.eligible++;
        view.free += Math.max(0, d.capacity - inFlight);
        if (inFlight / d.capacity < spillAt) view.available++;
        else view.saturated++;
        break;
      }
      case 'at-capacity':
      case 'over-limit':
        view.saturated++;
        break;
      case 'unhealthy':
      case 'circuit-open':
        view.unhealthy++;
        break;
      case 'draining':
        view.draining++;
        break;
      case 'failed-this-request':
        view.failed++;
        break;
    }
  }
  return view;
}

export type RouteChoice = { type: 'local' } | { type: 'spill'; cluster: string; reason: SpillReason };

export interface LocalityInput {
  mode: Locality;
  /** Set when the request was spilled here from that cluster. */
  spilledFrom?: string;
  local: LocalView;
  /** The remote clusters serving the model, from fresh summaries; asked for only when they matter. */
  remotes: () => readonly RemoteCandidate[];
}

export interface LocalityDecision {
  choice: RouteChoice;
  /** The remote clusters weighed, when they were. */
  remotes?: readonly RemoteCandidate[];
}

/** The remote cluster with the most free slots (ties: the first by name), if any has one. */
export function mostFree(remotes: readonly RemoteCandidate[]): RemoteCandidate | undefined {
  let best: RemoteCandidate | undefined;
  for (const r of remotes) {
    if (r.free <= 0 || r.ready <= 0) continue;
    if (!best || r.free > best.free || (r.free === best.free && r.cluster < best.cluster)) best = r;
  }
  return best;
}

/** Why the local workers cannot take it: none at all, else the state most of them are in (ties in the order below). */
function whyNotLocal(local: LocalView): SpillReason {
  if (local.serving === 0) return 'local-absent';
  const counts: Array<[SpillReason, number]> = [
    ['local-saturated', local.saturated], ['local-unhealthy', local.unhealthy], ['local-draining', local.draining], ['local-failed', local.failed],
  ];
  let best = counts[0] as [SpillReason, number];
  for (const c of counts) if (c[1] > best[1]) best = c;
  return best[0];
}

export function chooseRoute({ mode, spilledFrom, local, remotes }: LocalityInput): LocalityDecision {
  if (spilledFrom !== undefined || mode === 'strict') return { choice: { type: 'local' } };
  if (mode === 'prefer' && local.available > 0) return { choice: { type: 'local' } };
  const weighed = remotes();
  const best = mostFree(weighed);
  if (mode === 'any') {
    return best && best.free > local.free
      ? { choice: { type: 'spill', cluster: best.cluster, reason: 'any-most-free' }, remotes: weighed }
      : { choice: { type: 'local' }, remotes: weighed };
  }
  return best
    ? { choice: { type: 'spill', cluster: best.cluster, reason: whyNotLocal(local) }, remotes: weighed }
    : { choice: { type: 'local' }, remotes: weighed };
}
