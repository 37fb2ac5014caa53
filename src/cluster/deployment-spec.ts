/**
 * What `llmux cluster init` is asked for, checked once: the clusters of a NATS supercluster, servers
 * per cluster, an optional leaf node for an edge site, and the port layout on one host. Everything
 * downstream (configs, credentials, the launcher) trusts a DeploymentSpec.
 */

export interface LeafSpec {
  /** The edge site's name: its server is `<name>-1`, its identities are made like a cluster's. */
  name: string;
  /** The cluster whose servers the leaf node connects to. */
  hub: string;
}

export interface DeploymentSpec {
  clusters: string[];
  serversPerCluster: number;
  workersPerCluster: number;
  leaf?: LeafSpec;
  /** The first port of the layout in `portLayout`. */
  basePort: number;
  /** The address every server listens on and is dialled at (one machine: 127.0.0.1). */
  host: string;
}

export class DeploymentSpecError extends Error {
  override readonly name = 'DeploymentSpecError';
  readonly code = 'deployment_invalid_spec';
}

/** Server, cluster and gateway names in NATS, file names here, and part of worker ids. */
const siteName = /^[a-z0-9][a-z0-9-]{0,30}$/;
const maxServers = 100;

export const defaults = { serversPerCluster: 1, workersPerCluster: 2, basePort: 4222, host: '127.0.0.1' } as const;

/**
 * One block of ports per listener kind, one port per server inside it: with the default base 4222,
 * clients on 4222…, routes on 5222…, gateways 6222…, leaf nodes 7222…, monitoring 8222….
 */
export const portLayout = { client: 0, cluster: 1000, gateway: 2000, leafnode: 3000, monitor: 4000 } as const;
export type Listener = keyof typeof portLayout;

function checkName(what: string, name: string): string {
  if (!siteName.test(name)) throw new DeploymentSpecError(`${what} '${name}' must be 1-31 characters of a-z 0-9 - starting with a letter or digit (it names NATS servers, clusters and gateways)`);
  return name;
}

export interface SpecInput {
  /** Comma-separated, e.g. `us-east,us-west,eu`. */
  clusters: string | readonly string[];
  serversPerCluster?: number;
  workersPerCluster?: number;
  /** `NAME` (connecting to the first cluster) or `NAME@CLUSTER`. */
  leaf?: string;
  basePort?: number;
}

export function parseDeploymentSpec(input: SpecInput): DeploymentSpec {
  const clusters = (typeof input.clusters === 'string' ? input.clusters.split(',') : [...input.clusters]).map((c) => c.trim()).filter(Boolean);
  if (clusters.length === 0) throw new DeploymentSpecError('--clusters needs at least one cluster name, e.g. --clusters us-east,us-west');
  for (const c of clusters) checkName('cluster name', c);
  const duplicate = clusters.find((c, i) => clusters.indexOf(c) !== i);
  if (duplicate !== undefined) throw new DeploymentSpecError(`cluster '${duplicate}' is named twice in --clusters`);
  const serversPerCluster = input.serversPerCluster ?? defaults.serversPerCluster;
  if (!Number.isInteger(serversPerCluster) || serversPerCluster < 1) throw new DeploymentSpecError(`--servers-per-cluster must be an integer of 1 or more, not ${serversPerCluster}`);
  const workersPerCluster = input.workersPerCluster ?? defaults.workersPerCluster;
  if (!Number.isInteger(workersPerCluster) || workersPerCluster < 0 || workersPerCluster > 1000) throw new DeploymentSpecError(`--workers-per-cluster must be an integer 0-1000, not ${workersPerCluster}`);

  let leaf: LeafSpec | undefined;
  if (input.leaf !== undefined) {
    const [name = '', hub = clusters[0] ?? '', ...rest] = input.leaf.split('@');
    if (rest.length > 0) throw new DeploymentSpecError(`--leaf '${input.leaf}' must be NAME or NAME@CLUSTER`);
    checkName('leaf name', name);
    if (clusters.includes(name)) throw new DeploymentSpecError(`leaf '${name}' has the name of a cluster: give the edge site a name of its own`);
    if (!clusters.includes(hub)) throw new DeploymentSpecError(`--leaf ${input.leaf}: '${hub}' is not one of --clusters (${clusters.join(', ')})`);
    leaf = { name, hub };
  }

  const servers = clusters.length * serversPerCluster + (leaf ? 1 : 0);
  if (servers > maxServers) throw new DeploymentSpecError(`${servers} servers is more than this layout holds (${maxServers}); use fewer clusters or servers per cluster`);
  const basePort = input.basePort ?? defaults.basePort;
  const top = basePort + portLayout.monitor + servers - 1;
  if (!Number.isInteger(basePort) || basePort < 1024 || top > 65535) {
    throw new DeploymentSpecError(`--base-port must be an integer from 1024 to ${65535 - portLayout.monitor - servers + 1} for ${servers} servers (it uses ${basePort}..${top}, ports ${Object.values(portLayout).map((o) => `+${o}`).join(' ')}), not ${basePort}`);
  }
  return { clusters, serversPerCluster, workersPerCluster, ...(leaf ? { leaf } : {}), basePort, host: defaults.host };
}
