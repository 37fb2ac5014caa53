/**
 * Which workers of a function may take a request, and why each other one may not. Hard rules, in
 * this order (the first that applies is the reason recorded):
 *
 *   model-mismatch       registered for the function but serving another model
 *   cannot-serve         its engine cannot do what the request asks (embeddings of a generate-only engine, or the reverse)
 *   not-deployed         its version is not deployed, or it is outside the deployment's cluster or labels
 *   failed-this-request  already failed this request (the gateway retries elsewhere)
 *   draining             finishing its requests, taking none
 *   unhealthy            its engine failed the last health check
 *   circuit-open         its circuit breaker is open, or half-open with its one probe under way
 *   at-capacity          in-flight requests at its capacity
 *   over-limit           its tokens- or requests-per-minute limit would be exceeded
 *
 * Every routing method chooses only among the eligible; a property test holds them to it.
 */
import type { Deployment } from '../../control/function.schema.js';
import type { EngineCapability } from '../../engine-adapters/adapter.js';
import type { WorkerDescriptor } from './registry.protocol.js';
import type { RoutingRequest } from './routing-request.js';
import { type ExclusionReason, exclusionCodes, exclusionReasons } from './exclusion-codes.js';
import { effectiveInFlight, type WorkerEntry } from './worker-table.js';

export { exclusionCodes, exclusionReasons, type ExclusionReason } from './exclusion-codes.js';

const codes = exclusionCodes;

const generateOnly: readonly EngineCapability[] = ['generate'];

/** `exclusionOf` as its code, without a string: what decide() runs for every worker. */
export function exclusionCode(w: WorkerEntry, request: RoutingRequest, now: number): number {
  const { descriptor: d, load } = w;
  if (d.model !== request.model) return codes['model-mismatch'];
  if (!(d.serves ?? generateOnly).includes(request.needs ?? 'generate')) return codes['cannot-serve'];
  if (!deployedIn(d, request.deployments)) return codes['not-deployed'];
  if (request.exclude.length > 0 && request.exclude.includes(d.workerId)) return codes['failed-this-request'];
  if (load.state === 'draining') return codes.draining;
  if (!load.healthy) return codes.unhealthy;
  const inFlight = effectiveInFlight(w);
  const breaker = w.breaker.state(now);
  if (breaker === 'open' || (breaker === 'half-open' && inFlight > 0)) return codes['circuit-open'];
  if (inFlight >= d.capacity) return codes['at-capacity'];
  if (d.limits) {
    const { tokensPerMinute, requestsPerMinute } = d.limits;
    if (tokensPerMinute !== undefined && usedTokensPerMinute(w) + request.tokens > tokensPerMinute) return codes['over-limit'];
    if (requestsPerMinute !== undefined && load.usage.requestsPerMinute + w.dispatchedSinceReport + 1 > requestsPerMinute) return codes['over-limit'];
  }
  return 0;
}

export function exclusionOf(w: WorkerEntry, request: RoutingRequest, now: number): ExclusionReason | undefined {
  const code = exclusionCode(w, request, now);
  return code === 0 ? undefined : exclusionReasons[code - 1];
}

/**
 * When the model's only workers are ones whose engines cannot do what the request asks, their
 * engine kinds: the request is refused as unsupported (a 400), not as a 503 to retry, since no
 * worker of the model ever will. Undefined when any worker could.
 */
export function unservedBy(candidates: { readonly length: number; readonly descriptors: readonly WorkerDescriptor[]; excluded(i: number): string | undefined }): string[] | undefined {
  const kinds = new Set<string>();
  for (let i = 0; i < candidates.length; i++) {
    const reason = candidates.excluded(i);
    if (reason === 'model-mismatch') continue;
    if (reason !== 'cannot-serve') return undefined;
    kinds.add((candidates.descriptors[i] as WorkerDescriptor).engineKind);
  }
  return kinds.size > 0 ? [...kinds].sort() : undefined;
}

/** Tokens per minute as this router sees it: the worker's last report plus what was sent to it since. */
export function usedTokensPerMinute(w: WorkerEntry): number {
  return w.load.usage.tokensPerMinute + w.tokensSinceReport;
}

/**
 * Whether the worker's version may serve, given the function's deployments (none: every version
 * may): its version is deployed, in the deployment's cluster if it names one, with its labels.
 */
export function deployedIn(d: WorkerDescriptor, deployments: ReadonlyMap<string, Deployment> | undefined): boolean {
  if (!deployments) return true;
  const deployment = deployments.get(d.versionId);
  if (!deployment || (deployment.cluster !== undefined && deployment.cluster !== d.cluster)) return false;
  for (const [k, v] of Object.entries(deployment.labels ?? {})) if (d.labels[k] !== v) return false;
  return true;
}
