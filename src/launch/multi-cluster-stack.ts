/**
 * Several llmux clusters on one machine, joined by NATS: a TLS supercluster (one nats-server per
 * cluster, `startSupercluster`), and in each cluster routers, workers with engine simulators and a
 * gateway, every role with its own identity and client certificate from the deployment, exactly as
 * `llmux cluster init` lays them out. Used by `llmux up --clusters` and the multi-cluster tests.
 *
 * Where state lives (docs/multi-cluster.md): the control plane KV, the stream journal and the one
 * limiter are in the home cluster (the first named); each cluster's usage records go to a stream in
 * that cluster. The home cluster's roles start first, so what they create is placed there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoFunctionId, demoModel, demoVersionId, registerDemoFunction } from '../control/demo-function.js';
import type { LlmConfig } from '../control/function.schema.js';
import { type WorkerBinding, WorkerBindings } from '../control/worker-bindings.js';
import type { Limiter } from '../actors/limiter/limiter.js';
import type { Router } from '../actors/router/router.js';
import type { Worker } from '../actors/worker/worker.js';
import type { Logger } from '../observability/logger.js';
import type { AuthMode } from '../policy/auth-mode.js';
import type { JwtOptions } from '../policy/jwt-auth.js';
import { type SimOptions, type SimServer, startSim } from '../sim/sim-server.js';
import { createTokenCounter } from '../tokenize/index.js';
import type { NatsTlsOptions } from '../transport/nats/nats-transport.js';
import { type Supercluster, type SuperclusterSite, startSupercluster } from '../transport/nats/supercluster.js';
import { StartedRoles } from './started-roles.js';
import { LimiterMetrics } from '../observability/limiter-metrics.js';
import { RouterMetrics } from '../observability/router-metrics.js';
import { WorkerMetrics } from '../observability/worker-metrics.js';
import { type NatsAccess, type RunGatewayOptions, type RunningGateway, type RunWorkerOptions, runGateway, runLimiter, runRouter, runWorker } from './roles.js';

export interface MultiClusterStackOptions {
  log: Logger;
  /** Cluster names; the first is the home cluster (control plane, journal, limiter). */
  clusters: string[];
  /** Workers per cluster (default 2). */
  workers?: number;
  /** Routers per cluster (default 1). */
  routers?: number;
  host?: string;
  /** The first cluster's gateway HTTP port (0: any); the others take the next ones. */
  port?: number;
  apiKeys?: string[];
  auth?: AuthMode;
  adminKey?: string;
  jwt?: JwtOptions;
  sessionLimits?: RunGatewayOptions['limits'];
  limiter?: RunGatewayOptions['limiter'];
  /** The engine adapter; the simulators speak its wire format. */
  engineKind: string;
  model?: string;
  /** Settings of the demo model's llmConfig (locality, spillAt, routingMethod, …). */
  llmConfig?: Partial<LlmConfig>;
  sim?: Omit<SimOptions, 'models' | 'format' | 'apiKey' | 'port' | 'host'>;
  heartbeatMs?: number;
  workerCapacity?: number;
  workerTimeouts?: RunWorkerOptions['timeouts'];
  /**
   * Run each worker as its own `llmux worker` process (from dist/, so build first) rather than in
   * this one, so a test can kill it. Their timeouts are the CLI's defaults.
   */
  workerProcesses?: boolean;
  /** Reach each cluster's NATS gateway through a proxy, so a test can cut or freeze the links (`supercluster.isolate`). */
  cuttableGateways?: boolean;
  onProgress?: (line: string) => void;
}

export interface ClusterStack {
  name: string;
  gatewayUrl: string;
  natsUrls: string[];
  site: SuperclusterSite;
  gateway: RunningGateway;
  routers: Router[];
  /** The workers running in this process (none with `workerProcesses`). */
  workers: Worker[];
  /** The worker processes (with `workerProcesses`), by worker id. */
  workerProcesses: Map<string, ChildProcess>;
  sims: SimServer[];
  /** How this cluster's control identity reaches NATS (for a test's or a command's own connection). */
  control: NatsAccess;
}

export interface MultiClusterStack {
  supercluster: Supercluster;
  clusters: ClusterStack[];
  cluster(name: string): ClusterStack;
  home: ClusterStack;
  limiter: Limiter;
  /** Model ids clients use. */
  models: string[];
  stop(): Promise<void>;
}


const seedOf = (file: string): string => readFileSync(file, 'utf8').trim();
const tlsOf = (site: SuperclusterSite, who: { certFile: string; keyFile: string }): NatsTlsOptions => ({ caFile: site.caFile, certFile: who.certFile, keyFile: who.keyFile });

export async function startMultiClusterStack(options: MultiClusterStackOptions): Promise<MultiClusterStack> {
  const progress = options.onProgress ?? (() => undefined);
  const roles = new StartedRoles(options.log, progress);
  const stopAll = (): Promise<void> => roles.stopAll();
  try {
    const names = options.clusters;
    if (names.length < 2) throw new Error('a multi-cluster stack needs at least two clusters, e.g. --clusters us-east,us-west');
    const workersPerCluster = options.workers ?? 2;
    const model = options.model ?? demoModel;
    const { engineKind } = options;
    progress(`starting a TLS supercluster of ${names.length} clusters (${names.join(', ')}), one nats-server each; JetStream elects a leader in 4-10 s ...`);
    const supercluster = await startSupercluster({ clusters: names, workersPerCluster },
      { log: (line) => options.log.debug(line), ...(options.cuttableGateways ? { cuttableGateways: true } : {}) });
    roles.add('nats-server', supercluster);
    const tokens = createTokenCounter();
    roles.add('tokenizer pool', { stop: () => tokens.close() });

    const sites = names.map((name) => supercluster.site(name));
    const controlOf = (site: SuperclusterSite): NatsAccess => ({ natsUrl: site.clientUrls.join(','), nkeySeed: seedOf(site.control.seedFile), natsTls: tlsOf(site, site.control) });

    // Routers first, home cluster first: the control KV they open is created, and placed, there.
    const routersBy = new Map<string, Router[]>();
    // Each cluster's gateway serves the metrics of its cluster's routers and in-process workers (and the first, the limiter's).
    const metricsOf = new Map(sites.map((s) => [s.name, { router: new RouterMetrics({ defaultMetrics: false }), worker: new WorkerMetrics({ defaultMetrics: false }) }]));
    const siteMetrics = (site: SuperclusterSite): { router: RouterMetrics; worker: WorkerMetrics } => metricsOf.get(site.name) as { router: RouterMetrics; worker: WorkerMetrics };
    const limiterMetrics = new LimiterMetrics({ defaultMetrics: false });
    for (const site of sites) {
      const routers: Router[] = [];
      for (let i = 0; i < (options.routers ?? 1); i++) {
        progress(`starting router ${i + 1} in ${site.name} ...`);
        const router = await runRouter({ ...controlOf(site), log: options.log.child({ role: 'router', cluster: site.name }), cluster: site.name, requireWorkerBinding: true,
          metrics: siteMetrics(site).router });
        roles.add('router', router);
        routers.push(router);
      }
      routersBy.set(site.name, routers);
    }
    const allRouters = [...routersBy.values()].flat();
    const home = allRouters[0] as Router;

    // Each worker identity is bound to what it serves before it registers (control/worker-bindings.ts).
    const issuer = new WorkerBindings(home.catalog.kv);
    const binding: WorkerBinding = { functionId: demoFunctionId, versionId: demoVersionId, model, issuedAt: new Date().toISOString(), issuedBy: 'llmux multi-cluster stack' };
    const workerIds = sites.flatMap((s) => s.workers.slice(0, workersPerCluster).map((w) => w.workerId));
    for (const id of workerIds) await issuer.put(id, binding);
    const bound = (r: Router): boolean => workerIds.every((id) => r.bindings.get(id) !== undefined);
    for (let i = 0; i < 400 && !allRouters.every(bound); i++) await sleep(25);
    if (!allRouters.every(bound)) throw new Error('routers did not see the worker bindings within 10 s');

    const workersBy = new Map<string, { workers: Worker[]; processes: Map<string, ChildProcess>; sims: SimServer[] }>();
    for (const site of sites) {
      progress(`starting ${workersPerCluster} ${engineKind} worker(s)${options.workerProcesses ? ' (processes)' : ''} with engine simulators in ${site.name} ...`);
      const workers: Worker[] = [];
      const processes = new Map<string, ChildProcess>();
      const sims: SimServer[] = [];
      for (const identity of site.workers.slice(0, workersPerCluster)) {
        const sim = await startSim({ models: [model], format: engineKind, ...options.sim });
        roles.add('engine simulator', sim);
        sims.push(sim);
        const heartbeatMs = options.heartbeatMs ?? 1000;
        if (options.workerProcesses) {
          const child = spawnWorker({ site, identity, engineKind, engineUrl: sim.url, model, heartbeatMs, capacity: options.workerCapacity });
          roles.add('worker', { stop: () => stopProcess(child) });
          processes.set(identity.workerId, child);
          continue;
        }
        const worker = await runWorker({
          natsUrl: site.clientUrls.join(','), nkeySeed: seedOf(identity.seedFile), natsTls: tlsOf(site, identity),
          workerId: identity.workerId, cluster: site.name, log: options.log.child({ role: 'worker', cluster: site.name }),
          engineKind, engineUrl: sim.url, functionId: demoFunctionId, versionId: demoVersionId, model, tokens, heartbeatMs, metrics: siteMetrics(site).worker,
          ...(options.workerCapacity ? { capacity: options.workerCapacity } : {}),
          ...(options.workerTimeouts ? { timeouts: options.workerTimeouts } : {}),
        });
        roles.add('worker', worker);
        workers.push(worker);
      }
      workersBy.set(site.name, { workers, processes, sims });
    }

    progress(`starting the limiter in ${names[0]} (limits are global: docs/multi-cluster.md) ...`);
    const limiter = await runLimiter({ ...controlOf(sites[0] as SuperclusterSite), log: options.log.child({ role: 'limiter' }), metrics: limiterMetrics });
    roles.add('limiter', limiter);

    const clusters: ClusterStack[] = [];
    for (const [i, site] of sites.entries()) {
      progress(`starting the gateway of ${site.name} ...`);
      const control = controlOf(site);
      const gateway = await runGateway({
        ...control, cluster: site.name, log: options.log.child({ role: 'gateway', cluster: site.name }), host: options.host ?? '127.0.0.1',
        port: options.port ? options.port + i : 0, apiKeys: options.apiKeys ?? [], auth: options.auth ?? 'off', tokens,
        ...(options.adminKey ? { adminKey: options.adminKey } : {}), ...(options.sessionLimits ? { limits: options.sessionLimits } : {}),
        ...(options.limiter ? { limiter: options.limiter } : {}), ...(options.jwt ? { jwt: options.jwt } : {}),
      });
      roles.add('gateway', gateway);
      for (const { registry } of [...Object.values(siteMetrics(site)), ...(i === 0 ? [limiterMetrics] : [])]) gateway.metrics.include(registry);
      const { workers, processes, sims } = workersBy.get(site.name) as { workers: Worker[]; processes: Map<string, ChildProcess>; sims: SimServer[] };
      clusters.push({ name: site.name, gatewayUrl: gateway.url, natsUrls: site.clientUrls, site, gateway, routers: routersBy.get(site.name) as Router[], workers,
        workerProcesses: processes, sims, control });
    }
    await registerDemoFunction((clusters[0] as ClusterStack).gateway.catalog, model, options.llmConfig);

    // Ready when every router knows its own workers, the demo function, and every other cluster's summary.
    const knows = (c: { resolve(fn: string, m: string): unknown }): boolean => c.resolve(demoFunctionId, model) !== undefined;
    const ready = (): boolean => allRouters.every((r) => r.table.size >= workersPerCluster && knows(r.catalog) && r.clusters.size >= names.length - 1) &&
      clusters.every((c) => knows(c.gateway.catalog));
    for (let i = 0; i < 400 && !ready(); i++) await sleep(25);
    for (const r of allRouters) {
      if (r.table.size < workersPerCluster) throw new Error(`only ${r.table.size} of ${workersPerCluster} workers registered with ${r.routerId} (${r.cluster})`);
      if (!knows(r.catalog)) throw new Error(`${r.routerId} (${r.cluster}) did not see the demo function within 10 s`);
      if (r.clusters.size < names.length - 1) throw new Error(`${r.routerId} (${r.cluster}) heard from ${r.clusters.size} of ${names.length - 1} other clusters within 10 s`);
    }
    const cluster = (name: string): ClusterStack => {
      const found = clusters.find((c) => c.name === name);
      if (!found) throw new Error(`no cluster '${name}' in this stack (${names.join(', ')})`);
      return found;
    };
    return { supercluster, clusters, cluster, home: clusters[0] as ClusterStack, limiter, models: [`${demoFunctionId}/${model}`], stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Worker processes never outlive this one, however it ends (an exit hook; a SIGKILL of this process excepted). */
const children = new Set<ChildProcess>();
let exitHook = false;
function adopt(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  return child;
}

/** An `llmux worker` process with a deployment identity, its NATS access given by flags as an operator would. */
function spawnWorker(w: { site: SuperclusterSite; identity: SuperclusterSite['workers'][number]; engineKind: string; engineUrl: string; model: string;
  heartbeatMs: number; capacity: number | undefined }): ChildProcess {
  const { site, identity } = w;
  return adopt(spawn(process.execPath, [
    'bin/llmux.js', 'worker', '--nats', site.clientUrls.join(','), '--nkey-seed-file', identity.seedFile,
    '--nats-ca', site.caFile, '--nats-cert', identity.certFile, '--nats-key', identity.keyFile, '--cluster', site.name, '--id', identity.workerId,
    '--engine', w.engineKind, '--engine-url', w.engineUrl, '--function', demoFunctionId, '--function-version', demoVersionId, '--model', w.model,
    '--heartbeat-ms', String(w.heartbeatMs), ...(w.capacity ? ['--capacity', String(w.capacity)] : []),
  ], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LLMUX_LOG_LEVEL: process.env.LLMUX_LOG_LEVEL ?? 'error' } }));
}

/** SIGTERM (the worker drains), SIGKILL past 15 s; resolves once it has exited. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
