// Cuttable gateway links on real nats-servers (two clusters, TLS): every gateway connection goes
// through the launcher's proxies; with a's links cut or frozen each cluster still serves its own
// clients and b's JetStream stream takes b's writes, while a request from a to b fails; after the heal
// cross-cluster request/reply works again. The times are printed.
import { readFileSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, nkeyAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IsolateHow, type Supercluster, type SuperclusterServer, type SuperclusterSite, startSupercluster } from './supercluster.js';

let sc: Supercluster;
let a: NatsConnection;
let b: NatsConnection;

async function connectAs(site: SuperclusterSite): Promise<NatsConnection> {
  return connect({
    servers: site.clientUrls, timeout: 5000,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(site.control.seedFile, 'utf8').trim())),
    tls: { caFile: site.caFile, certFile: site.control.certFile, keyFile: site.control.keyFile },
  });
}

const serverOf = (cluster: string): SuperclusterServer => {
  const server = sc.site(cluster).servers[0];
  if (!server) throw new Error(`no server in ${cluster}`);
  return server;
};

type Gatewayz = {
  port: number;
  outbound_gateways: Record<string, { connection?: { port: number } }>;
  inbound_gateways: Record<string, Array<{ connection: { port: number } }>>;
};
const gatewayz = async (cluster: string): Promise<Gatewayz> => (await fetch(`${serverOf(cluster).monitorUrl}/gatewayz`, { signal: AbortSignal.timeout(2000) })).json() as Promise<Gatewayz>;

/** Whether a's and b's servers both still list their gateway connections to each other. */
const linked = async (): Promise<boolean> => {
  const [ga, gb] = await Promise.all([gatewayz('a'), gatewayz('b')]);
  return ga.outbound_gateways.b?.connection !== undefined || gb.outbound_gateways.a?.connection !== undefined;
};

/** Polls until `check` holds, bounded; returns the milliseconds it took. */
async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

const answers = (nc: NatsConnection, subject: string): Promise<boolean> =>
  nc.request(subject, 'ping', { timeout: 800 }).then((m) => m.string() === `pong ${subject}`, () => false);

beforeAll(async () => {
  sc = await startSupercluster({ clusters: ['a', 'b'], workersPerCluster: 0 }, { cuttableGateways: true });
  [a, b] = await Promise.all([connectAs(sc.site('a')), connectAs(sc.site('b'))]);
  for (const [nc, subject] of [[a, 'svc.a'], [b, 'svc.b']] as const) nc.subscribe(subject, {
    callback: (_, m) => {
      m.respond(`pong ${subject}`);
    },
  });
  await Promise.all([a.flush(), b.flush()]);
  const info = await (await jetstreamManager(b)).streams.add({ name: 'LEDGER_B', subjects: ['ledger.b.>'], placement: { cluster: 'b', tags: [] } });
  expect(info.cluster?.name).toBe('b');
  await until('a request from a reaches b', () => answers(a, 'svc.b'), 5000);
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await sc?.stop();
});

/** Isolates a, checks what must and must not work, heals; returns the times. */
async function isolateAndRejoin(how: IsolateHow): Promise<{ noticedMs: number; crossMs: number; rejoinMs: number }> {
  const before = await jetstream(b).publish('ledger.b.before', `before the ${how}`);
  sc.isolate('a', how);
  try {
    return await isolated(how, before.seq);
  } catch (error) {
    await sc.rejoin('a', 5000).catch(() => undefined);
    throw error;
  }
}

async function isolated(how: IsolateHow, seqBefore: number): Promise<{ noticedMs: number; crossMs: number; rejoinMs: number }> {
  const isolatedAt = Date.now();
  // A cut is seen at once (reset); a freeze only when 2 PINGs a second apart go unanswered.
  const noticedMs = await until(`both servers drop the ${how} link`, async () => !(await linked()), 10_000);

  expect(await answers(a, 'svc.a')).toBe(true);
  expect(await answers(b, 'svc.b')).toBe(true);
  expect(await answers(a, 'svc.b')).toBe(false);
  expect(await answers(b, 'svc.a')).toBe(false);
  // A publish needs only the stream's leader (b-1). JetStream API calls that need the meta leader
  // (account info, creating a stream or consumer) fail on the side without it: 2 peers, no quorum.
  const during = await jetstream(b).publish('ledger.b.during', `during the ${how}`, { timeout: 2000 });
  expect([during.stream, during.seq]).toEqual(['LEDGER_B', seqBefore + 1]);

  if (how === 'cut') {
    // nats-server redials a gateway a second after losing it: those dials are refused too.
    await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - isolatedAt))));
    expect(serverOf('a').log()).toMatch(/Error connecting to explicit gateway "b"|TLS gateway handshake error/);
  } else {
    // Its redial hangs in the TLS handshake: the proxy holds it.
    await until('a redial held by a frozen proxy', async () => sc.gatewayProxy(serverOf('b').name).held + sc.gatewayProxy(serverOf('a').name).held > 0, 5000);
  }
  expect(await linked()).toBe(false);
  expect(await answers(a, 'svc.b')).toBe(false);

  // Timed from the heal, side by side: request/reply both ways, and rejoin (every link up through the
  // proxies and a JetStream meta leader again).
  const healedAt = Date.now();
  const cross = until('requests both ways after the heal', async () => (await answers(a, 'svc.b')) && answers(b, 'svc.a'), 10_000);
  await sc.rejoin('a', 20_000);
  return { noticedMs, crossMs: await cross, rejoinMs: Date.now() - healedAt };
}

type Times = Awaited<ReturnType<typeof isolateAndRejoin>>;
const report = (how: IsolateHow, t: Times): string =>
  `${how}: both servers dropped the link ${t.noticedMs} ms after it; after the heal, request/reply both ways in ${t.crossMs} ms, rejoin (links and a JetStream meta leader) in ${t.rejoinMs} ms`;

describe('cuttable gateway links', () => {
  it('gateway links - every gateway connection goes through a proxy, and each server advertises its proxy', async () => {
    const proxies = ['a', 'b'].map((c) => `127.0.0.1:${sc.gatewayProxy(serverOf(c).name).port}`);
    for (const [cluster, other] of [['a', 'b'], ['b', 'a']] as const) {
      const g = await gatewayz(cluster);
      const own = sc.gatewayProxy(serverOf(cluster).name);
      expect(g.port, `${cluster}'s gateway advertises its proxy`).toBe(own.port);
      expect(g.outbound_gateways[other]?.connection?.port, `${cluster} dials ${other}'s proxy`).toBe(sc.gatewayProxy(serverOf(other).name).port);
      const inbound = (g.inbound_gateways[other] ?? []).map((i) => i.connection.port);
      expect(inbound.length).toBeGreaterThan(0);
      for (const port of inbound) expect(own.openUpstreamPorts(), `${other}'s link into ${cluster} comes through ${cluster}'s proxy`).toContain(port);
      // What gossip taught the server: a real gateway address here would be dialled on a reconnect.
      const varz = await (await fetch(`${serverOf(cluster).monitorUrl}/varz`)).json() as { gateway: { gateways?: Array<{ name: string; urls: string[] }> } };
      for (const remote of varz.gateway.gateways ?? []) expect(proxies, `${cluster} knows ${remote.name} only by its proxy`).toEqual(expect.arrayContaining(remote.urls));
    }
  });

  it('gateway links - with a cut off, each cluster serves its own clients and b\'s stream takes b\'s writes; after the heal a and b talk again', async () => {
    const t = await isolateAndRejoin('cut');
    console.log(report('cut', t));
    expect(t.noticedMs).toBeLessThan(1000);
    expect(t.crossMs).toBeLessThan(5000);
  }, 20_000);

  it('gateway links - with a frozen, nats-server drops the link by its PINGs within seconds; each cluster serves its own; after the heal a and b talk again', async () => {
    const t = await isolateAndRejoin('freeze');
    console.log(report('freeze', t));
    // (ping_max + 1) × ping_interval = 3 s, plus up to a second for the PING timer's phase.
    expect(t.noticedMs).toBeGreaterThan(1500);
    expect(t.noticedMs).toBeLessThan(6000);
    expect(t.crossMs).toBeLessThan(5000);
  }, 30_000);
});
