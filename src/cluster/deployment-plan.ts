/**
 * The servers of a deployment and their ports, from a DeploymentSpec. Ports come from the fixed
 * layout of `llmux cluster init`, or from a chooser (the test launcher picks free ones at start).
 */
import { type DeploymentSpec, type Listener, portLayout } from './deployment-spec.js';

export type ServerRole = 'cluster' | 'leaf';

export interface ServerPorts {
  client: number;
  monitor: number;
  /** Cluster servers: routes, gateways; hub servers also leaf nodes. */
  cluster?: number;
  gateway?: number;
  leafnode?: number;
}

export interface ServerPlan {
  /** `<site>-<n>`, n from 1: unique, since site names are and n has digits only (the last `-` splits them). */
  name: string;
  /** The cluster (or, for the leaf, the edge site) the server belongs to. */
  site: string;
  role: ServerRole;
  ports: ServerPorts;
}

export interface DeploymentPlan {
  spec: DeploymentSpec;
  servers: ServerPlan[];
  /** The clusters, then the leaf site when there is one: each gets its own identities. */
  sites: string[];
}

/** Picks the port of one listener of the `index`-th server (in plan order). */
export type PortChooser = (index: number, listener: Listener) => number;

export const layoutPorts = (basePort: number): PortChooser => (index, listener) => basePort + portLayout[listener] + index;

export function planDeployment(spec: DeploymentSpec, choosePort: PortChooser = layoutPorts(spec.basePort)): DeploymentPlan {
  const servers: ServerPlan[] = [];
  for (const cluster of spec.clusters) {
    for (let n = 1; n <= spec.serversPerCluster; n++) {
      const index = servers.length;
      const hub = spec.leaf?.hub === cluster;
      servers.push({
        name: `${cluster}-${n}`, site: cluster, role: 'cluster',
        ports: {
          client: choosePort(index, 'client'), monitor: choosePort(index, 'monitor'), cluster: choosePort(index, 'cluster'), gateway: choosePort(index, 'gateway'),
          ...(hub ? { leafnode: choosePort(index, 'leafnode') } : {}),
        },
      });
    }
  }
  if (spec.leaf) {
    const index = servers.length;
    servers.push({ name: `${spec.leaf.name}-1`, site: spec.leaf.name, role: 'leaf', ports: { client: choosePort(index, 'client'), monitor: choosePort(index, 'monitor') } });
  }
  return { spec, servers, sites: [...spec.clusters, ...(spec.leaf ? [spec.leaf.name] : [])] };
}

export const workerIds = (spec: DeploymentSpec, site: string): string[] =>
  Array.from({ length: spec.workersPerCluster }, (_, i) => `${site}-worker-${i + 1}`);

export const serversOf = (plan: DeploymentPlan, site: string): ServerPlan[] => plan.servers.filter((s) => s.site === site);
