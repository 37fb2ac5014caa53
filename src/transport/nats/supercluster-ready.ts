/**
 * When a supercluster is up, as its servers' monitoring endpoints say: every server answers `/varz`,
 * has its routes (`/routez`), an outbound gateway connection to every other cluster (`/gatewayz`)
 * and a JetStream meta leader that sees every other JetStream server as a current, online peer
 * (`/jsz`); the leaf server has its leaf connection (`/leafz`). With cuttable gateways, every gateway connection goes through a proxy: each outbound one is to a proxy's port and
 * each inbound one comes from a live connection of the server's own proxy. Bounded: a timeout names
 * each server still short of something, with the tail of its log.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerProcess } from './supercluster-server.js';

export interface ReadinessTarget {
  name: string;
  monitorUrl: string;
  process: ServerProcess;
  /** Routes the server must have (the other servers of its cluster). */
  routes: number;
  /** Clusters it must have an outbound gateway connection to. */
  gateways: readonly string[];
  /** Leaf connections it must have (1 on the leaf server). */
  leafnodes: number;
  jetstream: boolean;
  /**
   * Every JetStream server of the supercluster. When this server is the meta leader, each other
   * one must be a current, online peer in its view: until the leader has heard a peer's server
   * info, it places no stream there ("no suitable peers for placement, peer offline"), although
   * the peer answers and a leader exists.
   */
  jetstreamPeers?: readonly string[];
  /** With cuttable gateways: the ports its gateway connections must go through. */
  viaProxies?: {
    /** The proxy ports of a cluster's servers: an outbound connection to it must be to one of them. */
    outbound(cluster: string): number[];
    /** The local ports of the live connections of this server's proxy to it: each inbound one must come from one. */
    inbound(): number[];
  };
}

export class SuperclusterNotReadyError extends Error {
  override readonly name = 'SuperclusterNotReadyError';
  readonly code = 'supercluster_not_ready';
}

async function monitor(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return response.ok ? (await response.json()) as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

const recordOf = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? v as Record<string, unknown> : {});

/** What the server still lacks; empty when it is ready. */
export async function missing(target: ReadinessTarget): Promise<string[]> {
  if (!await monitor(`${target.monitorUrl}/varz`)) return ['its monitoring endpoint does not answer yet'];
  const lacks: string[] = [];
  if (target.routes > 0) {
    const routes = Number((await monitor(`${target.monitorUrl}/routez`))?.num_routes ?? 0);
    if (routes < target.routes) lacks.push(`routes ${routes}/${target.routes}`);
  }
  if (target.gateways.length > 0) {
    const gatewayz = await monitor(`${target.monitorUrl}/gatewayz`);
    const outbound = recordOf(gatewayz?.outbound_gateways);
    const down = target.gateways.filter((c) => recordOf(outbound[c]).connection === undefined);
    if (down.length > 0) lacks.push(`no gateway connection to ${down.join(', ')}`);
    if (target.viaProxies) lacks.push(...bypasses(target.viaProxies, outbound, recordOf(gatewayz?.inbound_gateways)));
  }
  if (target.leafnodes > 0) {
    const leafs = Number((await monitor(`${target.monitorUrl}/leafz`))?.leafnodes ?? 0);
    if (leafs < target.leafnodes) lacks.push(`leaf connections ${leafs}/${target.leafnodes}`);
  }
  if (target.jetstream) {
    const meta = recordOf((await monitor(`${target.monitorUrl}/jsz`))?.meta_cluster);
    if (typeof meta.leader !== 'string' || meta.leader === '') lacks.push('no JetStream meta leader');
    else if (meta.leader === target.name) lacks.push(...peersNotCurrent(target, Array.isArray(meta.replicas) ? meta.replicas.map(recordOf) : []));
  }
  return lacks;
}

/** The JetStream peers the meta leader `target` does not yet see as current and online. */
function peersNotCurrent(target: ReadinessTarget, replicas: ReadonlyArray<Record<string, unknown>>): string[] {
  return (target.jetstreamPeers ?? []).filter((peer) => peer !== target.name).flatMap((peer) => {
    const replica = replicas.find((r) => r.name === peer);
    return replica && replica.current === true && replica.offline !== true ? [] : [`JetStream peer ${peer} not yet current and online for the meta leader`];
  });
}

/** Gateway connections that do not go through the launcher's proxies (or through a frozen connection of one). */
function bypasses(via: NonNullable<ReadinessTarget['viaProxies']>, outbound: Record<string, unknown>, inbound: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const [cluster, gateway] of Object.entries(outbound)) {
    const port = Number(recordOf(recordOf(gateway).connection).port);
    if (recordOf(gateway).connection !== undefined && !via.outbound(cluster).includes(port)) found.push(`outbound gateway to ${cluster} on port ${port}, not a proxy's`);
  }
  const live = via.inbound();
  for (const [cluster, list] of Object.entries(inbound)) {
    for (const gateway of Array.isArray(list) ? list : []) {
      const port = Number(recordOf(recordOf(gateway).connection).port);
      if (!live.includes(port)) found.push(`inbound gateway from ${cluster} (port ${port}) not on a live connection of its proxy`);
    }
  }
  return found;
}

const tail = (log: string): string => log.trim().split('\n').slice(-8).map((l) => `    ${l}`).join('\n');

/** `when` names the moment in errors: 'while the supercluster was starting' unless told. */
export async function waitReady(targets: readonly ReadinessTarget[], timeoutMs: number, when = 'while the supercluster was starting'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = targets.find((t) => !t.process.running());
    if (dead) throw new SuperclusterNotReadyError(`nats-server ${dead.name} ${dead.process.exitStatus() ?? 'stopped'} ${when}:\n${tail(dead.process.log())}`);
    const report = await Promise.all(targets.map(async (t) => ({ t, lacks: await missing(t) })));
    const short = report.filter((r) => r.lacks.length > 0);
    if (short.length === 0) return;
    if (Date.now() >= deadline) {
      throw new SuperclusterNotReadyError(`the supercluster was not ready within ${timeoutMs} ms ${when}:\n${short.map(({ t, lacks }) => `  ${t.name}: ${lacks.join('; ')}\n${tail(t.process.log())}`).join('\n')}`);
    }
    await sleep(100);
  }
}
