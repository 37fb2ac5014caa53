/**
 * Starts a whole supercluster on this machine for tests: every server of a deployment (a directory
 * made by `llmux cluster init`, or one generated in a temp dir from a spec), each on free loopback
 * ports chosen at start, so test files run side by side. The deployment's certificates and identities
 * are used as they are; configs (same shape as `cluster init` writes, src/cluster/server-config.ts),
 * link passwords and JetStream stores are fresh, in a temp dir removed on stop.
 *
 * Resolves once every gateway, route and leaf connection is up and JetStream has a meta leader
 * (supercluster-ready.ts). Each server handle can be stopped, frozen, killed and restarted, for
 * failover tests. With `cuttableGateways`, the links between clusters can be cut or frozen on their
 * own, every server left running (supercluster-links.ts).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadedDeployment, loadDeployment, serverFileNames } from '../../cluster/deployment-manifest.js';
import { type DeploymentPlan, type ServerPlan, type ServerRole, planDeployment, serversOf } from '../../cluster/deployment-plan.js';
import { type SpecInput, parseDeploymentSpec, portLayout } from '../../cluster/deployment-spec.js';
import { type LinkSecrets, linkUsers, renderServerConfig } from '../../cluster/server-config.js';
import { newLinkSecret, writeDeployment } from '../../cluster/write-deployment.js';
import type { TcpProxy } from '../tcp-proxy.js';
import { ensureNatsServerBinary } from './nats-server-binary.js';
import { type GatewayLinks, type IsolateHow, startGatewayLinks } from './supercluster-links.js';
import { type ReadinessTarget, SuperclusterNotReadyError, waitReady } from './supercluster-ready.js';
import { type ServerProcessHandle, ServerProcess } from './supercluster-server.js';

export type { IsolateHow } from './supercluster-links.js';
export { SuperclusterNotReadyError } from './supercluster-ready.js';
export type { ServerProcessHandle } from './supercluster-server.js';

export interface SuperclusterOptions {
  log?: (line: string) => void;
  /** How long to wait for every link and a JetStream meta leader (default 30 s; 2.9.10 elects in 4-10 s). */
  readyTimeoutMs?: number;
  /**
   * Every cluster server's gateway is reached through a proxy of the launcher's (supercluster-links.ts),
   * so `isolate` and `rejoin` can cut and heal the links between clusters; servers PING every second
   * and drop a link after 2 unanswered PINGs (`gatewayPing`), so a frozen one is noticed in about 3 s.
   */
  cuttableGateways?: boolean;
}

/** PINGs of a cuttable supercluster: a silent link is closed as stale after about (max + 1) × interval. */
export const gatewayPing = { intervalSeconds: 1, max: 2 } as const;

export interface SuperclusterServer extends ServerProcessHandle {
  readonly name: string;
  readonly site: string;
  readonly role: ServerRole;
  /** `tls://127.0.0.1:<port>`. */
  readonly clientUrl: string;
  /** `http://127.0.0.1:<port>`: /varz, /gatewayz, /routez, /leafz, /jsz. */
  readonly monitorUrl: string;
}

export type GatewayProxyView = Pick<TcpProxy, 'port' | 'connections' | 'held' | 'openUpstreamPorts'>;

export interface IdentityPaths {
  seedFile: string;
  certFile: string;
  keyFile: string;
}

export interface SuperclusterSite {
  name: string;
  role: ServerRole;
  clientUrls: string[];
  servers: SuperclusterServer[];
  /** The site's CA certificate and identities (absolute paths into the deployment). */
  caFile: string;
  control: IdentityPaths;
  workers: Array<IdentityPaths & { workerId: string }>;
}

export interface Supercluster {
  clusters: SuperclusterSite[];
  leaf?: SuperclusterSite;
  site(name: string): SuperclusterSite;
  deployment: LoadedDeployment;
  /** A cluster's gateway URLs with the link credentials, as its peers dial them (for a test's own server). */
  gatewayUrls(cluster: string): string[];
  /** Waits again until every link is up and JetStream has a leader, e.g. after a restart. */
  waitReady(timeoutMs?: number): Promise<void>;
  /**
   * With `cuttableGateways`: cuts (connections reset, new ones refused) or freezes (nothing forwarded,
   * new connections hang: nats-server notices by its PINGs) every gateway link to and from `cluster`.
   * Its servers and clients keep running.
   */
  isolate(cluster: string, how: IsolateHow): void;
  /** With `cuttableGateways`: the proxy in front of a cluster server's gateway, to look at. */
  gatewayProxy(server: string): GatewayProxyView;
  /** Heals `cluster`'s links and waits, bounded (default `readyTimeoutMs`), until every link is up again through the proxies and JetStream has a meta leader. */
  rejoin(cluster: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const listeners = Object.keys(portLayout) as Array<keyof typeof portLayout>;

/** Free loopback ports, all held open until every one is chosen so none is handed out twice. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => { const a = s.address(); return typeof a === 'object' && a ? a.port : 0; });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function deploymentFrom(source: string | SpecInput, log: (line: string) => void): Promise<{ deployment: LoadedDeployment; generated?: string }> {
  if (typeof source === 'string') return Promise.resolve({ deployment: loadDeployment(source) });
  const generated = mkdtempSync(join(tmpdir(), 'llmux-deployment-'));
  return writeDeployment(join(generated, 'deployment'), parseDeploymentSpec(source), { log: (line) => log(`cluster init: ${line}`) })
    .then(() => ({ deployment: loadDeployment(join(generated, 'deployment')), generated }))
    .catch((error: unknown) => {
      rmSync(generated, { recursive: true, force: true });
      throw error;
    });
}

interface Started {
  plan: DeploymentPlan;
  secrets: LinkSecrets;
  work: string;
  processes: Map<string, ServerProcess>;
  links?: GatewayLinks;
}

async function startOnce(binary: string, deployment: LoadedDeployment, cuttable: boolean, log: (line: string) => void): Promise<Started> {
  const base = deployment.plan;
  const ports = await freePorts(base.servers.length * listeners.length);
  const plan = planDeployment(base.spec, (index, listener) => ports[index * listeners.length + listeners.indexOf(listener)] ?? 0);
  const secrets: LinkSecrets = { core: newLinkSecret(), leaf: newLinkSecret() };
  const processes = new Map<string, ServerProcess>();
  const links = cuttable ? await startGatewayLinks(plan, (name) => processes.get(name)?.pid, log) : undefined;
  const test = links ? { gatewayPortOf: (s: ServerPlan) => links.portOf(s), ping: gatewayPing } : {};
  const work = mkdtempSync(join(tmpdir(), 'llmux-supercluster-'));
  for (const server of plan.servers) {
    const dir = deployment.path(deployment.manifest.servers.find((s) => s.name === server.name)?.dir ?? '');
    const configFile = join(work, `${server.name}.conf`);
    // nats-server reads an `include` relative to the config file, even an absolute path: copy it beside.
    const authFile = `${server.name}-${serverFileNames.auth}`;
    copyFileSync(join(dir, serverFileNames.auth), join(work, authFile));
    writeFileSync(configFile, renderServerConfig(plan, server, {
      caFile: join(dir, serverFileNames.ca), certFile: join(dir, serverFileNames.cert), keyFile: join(dir, serverFileNames.key),
      authFile, storeDir: join(work, server.name, serverFileNames.store),
    }, secrets, test), { mode: 0o600 });
    processes.set(server.name, new ServerProcess(server.name, binary, configFile));
    const via = links && server.role === 'cluster' ? `, gateway ${server.ports.gateway} via proxy ${links.proxyOf(server.name).port}` : '';
    log(`nats-server ${server.name} (${server.site}): client ${server.ports.client}, monitor ${server.ports.monitor}${via}`);
  }
  return { plan, secrets, work, processes, ...(links ? { links } : {}) };
}

function readinessTargets(started: Started): ReadinessTarget[] {
  const { plan, links } = started;
  return plan.servers.map((s: ServerPlan) => ({
    name: s.name, monitorUrl: `http://127.0.0.1:${s.ports.monitor}`, process: started.processes.get(s.name) as ServerProcess,
    routes: s.role === 'cluster' ? plan.spec.serversPerCluster - 1 : 0,
    gateways: s.role === 'cluster' ? plan.spec.clusters.filter((c) => c !== s.site) : [],
    leafnodes: s.role === 'leaf' ? 1 : 0,
    jetstream: s.role === 'cluster',
    jetstreamPeers: plan.servers.filter((peer) => peer.role === 'cluster').map((peer) => peer.name),
    ...(links && s.role === 'cluster' ? {
      viaProxies: {
        outbound: (cluster: string) => serversOf(plan, cluster).map((peer) => links.proxyOf(peer.name).port),
        inbound: () => links.proxyOf(s.name).openUpstreamPorts(),
      },
    } : {}),
  }));
}

const addressInUse = (p: ServerProcess): boolean => /address already in use/i.test(p.log());

export async function startSupercluster(source: string | SpecInput, options: SuperclusterOptions = {}): Promise<Supercluster> {
  const log = options.log ?? (() => undefined);
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const binary = await ensureNatsServerBinary({ install: false, log });
  const { deployment, generated } = await deploymentFrom(source, log);
  const cleanup = (): void => {
    if (generated) rmSync(generated, { recursive: true, force: true });
  };
  if (deployment.manifest.withoutSecrets) {
    cleanup();
    throw new SuperclusterNotReadyError(`${deployment.dir} was written with --without-secrets: it has no keys and cannot run; make one with \`llmux cluster init\``);
  }

  let started: Started | undefined;
  // Ports are free when chosen but not reserved: another process may take one before the server binds
  // it. Then start the whole set again on new ones (every server's config names its peers' ports).
  for (let attempt = 1; started === undefined; attempt++) {
    const candidate = await startOnce(binary, deployment, options.cuttableGateways === true, log);
    try {
      await waitReady(readinessTargets(candidate), readyTimeoutMs);
      started = candidate;
    } catch (error) {
      const collided = [...candidate.processes.values()].some(addressInUse);
      await Promise.all([...candidate.processes.values()].map((p) => p.dispose()));
      await candidate.links?.close();
      rmSync(candidate.work, { recursive: true, force: true });
      if (!collided || attempt >= 3) {
        cleanup();
        throw error;
      }
      log(`a port was taken before its server bound it; starting again on new ports (attempt ${attempt + 1} of 3)`);
    }
  }
  const { plan, secrets, work, processes, links } = started;
  // The servers have their own 'exit' hooks; this one takes their temp files (and a generated deployment's keys).
  const removeFiles = (): void => {
    rmSync(work, { recursive: true, force: true });
    cleanup();
  };
  process.on('exit', removeFiles);

  const serverHandle = (s: ServerPlan): SuperclusterServer => {
    const p = processes.get(s.name) as ServerProcess;
    return {
      name: s.name, site: s.site, role: s.role, clientUrl: `tls://127.0.0.1:${s.ports.client}`, monitorUrl: `http://127.0.0.1:${s.ports.monitor}`,
      get pid() { return p.pid; },
      running: () => p.running(), log: () => p.log(), signal: (sig) => p.signal(sig), kill: (sig) => p.kill(sig), stop: () => p.stop(), restart: () => p.restart(),
    };
  };
  const sites = plan.sites.map((name): SuperclusterSite => {
    const files = deployment.manifest.sites.find((s) => s.name === name);
    if (!files) throw new Error(`internal: ${deployment.dir} has no identities for site ${name}`);
    const paths = (f: { seed: string; cert: string; key: string }): IdentityPaths => ({ seedFile: deployment.path(f.seed), certFile: deployment.path(f.cert), keyFile: deployment.path(f.key) });
    const servers = serversOf(plan, name).map(serverHandle);
    return {
      name, role: servers[0]?.role ?? 'cluster', clientUrls: servers.map((s) => s.clientUrl), servers,
      caFile: deployment.path(files.caFile), control: paths(files.control), workers: files.workers.map((w) => ({ workerId: w.workerId, ...paths(w) })),
    };
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all([...processes.values()].map((p) => p.dispose()));
      await links?.close();
      process.off('exit', removeFiles);
      removeFiles();
    })();
    return stopping;
  };
  const site = (name: string): SuperclusterSite => {
    const found = sites.find((s) => s.name === name);
    if (!found) throw new Error(`no site '${name}' in this supercluster (${plan.sites.join(', ')})`);
    return found;
  };
  return {
    clusters: sites.filter((s) => s.role === 'cluster'),
    ...(plan.spec.leaf ? { leaf: site(plan.spec.leaf.name) } : {}),
    site,
    deployment,
    gatewayUrls: (cluster) => serversOf(plan, cluster).map((s) => `nats://${linkUsers.gateway}:${secrets.core}@127.0.0.1:${s.ports.gateway}`),
    waitReady: (timeoutMs = readyTimeoutMs) => waitReady(readinessTargets(started), timeoutMs),
    isolate: (cluster, how) => {
      if (!links) throw new Error('isolate needs a supercluster started with { cuttableGateways: true }');
      links.isolate(cluster, how);
      log(`gateway links of ${cluster}: ${how}`);
    },
    gatewayProxy: (server) => {
      if (!links) throw new Error('gatewayProxy needs a supercluster started with { cuttableGateways: true }');
      return links.proxyOf(server);
    },
    rejoin: async (cluster, timeoutMs = readyTimeoutMs) => {
      if (!links) throw new Error('rejoin needs a supercluster started with { cuttableGateways: true }');
      links.rejoin(cluster);
      log(`gateway links of ${cluster}: healed`);
      await waitReady(readinessTargets(started), timeoutMs, `after ${cluster} rejoined`);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
