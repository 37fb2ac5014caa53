/**
 * Cuttable gateway links for a test supercluster: every cluster server's gateway listener is reached
 * by the other clusters through a loopback proxy of its own (tcp-proxy.ts), which its peers' configs
 * and its own `advertise` name. A test can then cut or freeze every link to and from one cluster while
 * each server, and each cluster's own clients, keep running.
 *
 * One proxy per server carries the links from every other cluster. To cut only the isolated
 * cluster's, each accepted connection is traced to the nats-server that dialled it: the proxy sees
 * the dialler's port, /proc/net/tcp names the socket's inode, and /proc/<pid>/fd the server owning
 * it. With two clusters the dialler is the other cluster whatever /proc says.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { DeploymentPlan, ServerPlan } from '../../cluster/deployment-plan.js';
import { type LinkMode, TcpProxy } from '../tcp-proxy.js';

export type IsolateHow = 'cut' | 'freeze';

const modeOf: Record<IsolateHow, LinkMode> = { cut: 'cut', freeze: 'frozen' };

export interface GatewayLinks {
  /** The port the other clusters dial (and the server advertises) for a server's gateway. */
  portOf(server: ServerPlan): number;
  /** The proxy in front of a server's gateway listener. */
  proxyOf(server: string): TcpProxy;
  /** Clusters isolated now, and how. */
  readonly isolated: ReadonlyMap<string, IsolateHow>;
  isolate(cluster: string, how: IsolateHow): void;
  rejoin(cluster: string): void;
  close(): Promise<void>;
}

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/** The inode of the loopback TCP socket from `localPort` to `remotePort`, from /proc/net/tcp. */
function socketInode(localPort: number, remotePort: number): string | undefined {
  const local = `:${hexPort(localPort)}`;
  const remote = `:${hexPort(remotePort)}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(local) && fields[2]?.endsWith(remote)) return fields[9];
  }
  return undefined;
}

function ownsSocket(pid: number, inode: string): boolean {
  const link = `socket:[${inode}]`;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === link;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

export async function startGatewayLinks(plan: DeploymentPlan, pidOf: (server: string) => number | undefined, log: (line: string) => void): Promise<GatewayLinks> {
  const servers = plan.servers.filter((s) => s.role === 'cluster');
  const clusters = plan.spec.clusters;
  const isolated = new Map<string, IsolateHow>();

  const dialler = (client: Socket, target: ServerPlan): string | undefined => {
    if (clusters.length === 2) return clusters.find((c) => c !== target.site);
    try {
      const inode = client.remotePort !== undefined && client.localPort !== undefined ? socketInode(client.remotePort, client.localPort) : undefined;
      const from = inode === undefined ? undefined : servers.find((s) => s.site !== target.site && ownsSocket(pidOf(s.name) ?? -1, inode));
      if (from) return from.site;
    } catch {
      // No /proc: the link is treated as every isolated cluster's (below).
    }
    log(`gateway links: could not tell which server dialled ${target.name}'s gateway from port ${client.remotePort}`);
    return undefined;
  };

  const proxies = new Map<string, TcpProxy>();
  try {
    for (const s of servers) {
      if (s.ports.gateway === undefined) throw new Error(`internal: cluster server ${s.name} has no gateway port`);
      proxies.set(s.name, await TcpProxy.start(s.ports.gateway, { peerOf: (client) => dialler(client, s) }));
    }
  } catch (error) {
    await Promise.all([...proxies.values()].map((p) => p.close()));
    throw error;
  }

  // A link between two clusters is down while either end is isolated; cut wins over freeze.
  const apply = (): void => {
    for (const s of servers) {
      const proxy = proxies.get(s.name) as TcpProxy;
      proxy.apply((peer) => {
        const ends = [isolated.get(s.site), peer === undefined ? [...isolated.values()][0] : isolated.get(peer)];
        if (ends.includes('cut')) return 'cut';
        return ends.includes('freeze') ? 'frozen' : 'open';
      });
    }
  };
  const known = (cluster: string): void => {
    if (!clusters.includes(cluster)) throw new Error(`no cluster '${cluster}' in this supercluster (${clusters.join(', ')})`);
  };
  const proxyOf = (server: string): TcpProxy => {
    const proxy = proxies.get(server);
    if (!proxy) throw new Error(`no gateway proxy for '${server}' (cluster servers: ${servers.map((s) => s.name).join(', ')})`);
    return proxy;
  };

  return {
    portOf: (server) => proxyOf(server.name).port,
    proxyOf,
    isolated,
    isolate(cluster, how) {
      known(cluster);
      isolated.set(cluster, how);
      apply();
    },
    rejoin(cluster) {
      known(cluster);
      isolated.delete(cluster);
      apply();
    },
    close: async () => {
      await Promise.all([...proxies.values()].map((p) => p.close()));
    },
  };
}
