/**
 * The NATS identities of one site (a cluster, or the edge site behind the leaf node): a control
 * identity for its gateways, routers and limiter, and one per worker, with the permissions of
 * nats-credentials.ts. Each site's servers admit that site's identities only, so a seed stolen in one
 * cluster does not connect in another; what crosses the gateways is the traffic of the admitted ones.
 */
import { type NatsIdentity, type WorkerIdentity, newIdentity, userEntries } from '../transport/nats/nats-credentials.js';

export interface SiteIdentities {
  site: string;
  control: NatsIdentity;
  /** Each may register in its own site's cluster only (`cluster` is the site). */
  workers: Array<WorkerIdentity & { cluster: string }>;
}

export function makeSiteIdentities(site: string, workerIds: readonly string[]): SiteIdentities {
  return { site, control: newIdentity(), workers: workerIds.map((workerId) => ({ workerId, identity: newIdentity(), cluster: site })) };
}


/**
 * The site's users (`auth.conf`), as nats-credentials.ts's `authorizationConfig` writes them but as
 * the `users` of an account rather than a top-level `authorization` block: a supercluster with a leaf
 * node needs a system account, and once accounts are declared JetStream is only on where an account
 * enables it (server-config.ts includes this file inside the llmux account).
 */
export function siteUsers(ids: SiteIdentities): string {
  return `# NATS identities of site ${ids.site}, public keys only (llmux cluster init): control, then one per worker.\nusers = [\n${userEntries(ids.control, ids.workers, '  ').join('\n')}\n]\n`;
}
