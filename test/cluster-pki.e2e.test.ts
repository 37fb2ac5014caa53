// Multi-cluster PKI end to end: `llmux cluster init` as a user runs it writes a deployment whose keys
// are owner-only; that deployment starts as a two-cluster TLS supercluster on real nats-servers
// (random loopback ports); roles' identities connect over TLS in their own cluster and talk across the
// gateway; and whatever lacks a certificate from the deployment's CA is refused: a client without one,
// a client with another CA's, a nats-server trying to join as a gateway with another CA's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslBinary } from '../src/cluster/openssl.js';
import { issueCertificate, makeCa } from '../src/cluster/pki.js';
import { ensureNatsServerBinary } from '../src/transport/nats/nats-server-binary.js';
import { type NatsTransport, NatsTlsConnectError, connectNats } from '../src/transport/nats/nats-transport.js';
import { type Supercluster, type SuperclusterSite, startSupercluster } from '../src/transport/nats/supercluster.js';
import { ServerProcess } from '../src/transport/nats/supercluster-server.js';
import type { Inbound } from '../src/transport/transport.js';

const work = mkdtempSync(join(tmpdir(), 'llmux-cluster-pki-'));
const deploymentDir = join(work, 'deploy');
const llmux = (...args: string[]): string => execFileSync(process.execPath, ['bin/llmux.js', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let sc: Supercluster;
let initOutput: string;
const transports: NatsTransport[] = [];

beforeAll(async () => {
  initOutput = llmux('cluster', 'init', '--clusters', 'east,west', '--workers-per-cluster', '1', '--out', deploymentDir);
  sc = await startSupercluster(deploymentDir);
}, 45_000);

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await sc?.stop();
  rmSync(work, { recursive: true, force: true });
});

const seedOf = (file: string): string => readFileSync(file, 'utf8').trim();

async function connectControl(site: SuperclusterSite, name: string): Promise<NatsTransport> {
  const t = await connectNats({
    servers: site.clientUrls.join(','), name, nkeySeed: seedOf(site.control.seedFile),
    tls: { caFile: site.caFile, certFile: site.control.certFile, keyFile: site.control.keyFile },
  });
  transports.push(t);
  return t;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every file under `dir`, with its mode. */
function modes(dir: string, prefix = ''): Array<{ path: string; mode: number; dir: boolean }> {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const path = join(prefix, e.name);
    const entry = { path, mode: statSync(join(dir, path)).mode & 0o777, dir: e.isDirectory() };
    return e.isDirectory() ? [entry, ...modes(dir, path)] : [entry];
  });
}

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const address = s.address();
    s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
  });
});

describe('multi-cluster PKI', () => {
  it('cluster init - writes every key, seed and password-holding config owner-only, and says what it wrote', () => {
    expect(initOutput).toMatch(/^CA {11}ca\/ca\.crt and ca\/ca\.key \(owner-only\)$/m);
    expect(initOutput).toMatch(/^server {7}servers\/west-1\/: client 4223, monitor 8223, routes 5223, gateway 6223$/m);
    const files = modes(deploymentDir);
    const secret = files.filter((f) => /\.(key|seed)$|nats-server\.conf$/.test(f.path));
    expect(secret.map((f) => f.path).sort()).toEqual([
      'ca/ca.key',
      'identities/east/control.key', 'identities/east/control.seed', 'identities/east/east-worker-1.key', 'identities/east/east-worker-1.seed',
      'identities/west/control.key', 'identities/west/control.seed', 'identities/west/west-worker-1.key', 'identities/west/west-worker-1.seed',
      'servers/east-1/nats-server.conf', 'servers/east-1/server.key', 'servers/west-1/nats-server.conf', 'servers/west-1/server.key',
    ]);
    for (const f of secret) expect({ path: f.path, mode: f.mode.toString(8) }).toEqual({ path: f.path, mode: '600' });
    for (const f of files.filter((e) => e.dir)) expect({ path: f.path, mode: f.mode.toString(8) }).toEqual({ path: f.path, mode: '700' });
    expect(statSync(deploymentDir).mode & 0o777).toBe(0o700);
  });

  it('pki - init and issue make a CA and a client certificate it verifies, keys owner-only', () => {
    llmux('pki', 'init', '--out', join(work, 'ca'));
    llmux('pki', 'issue', '--ca', join(work, 'ca'), '--name', 'gpu-1', '--client', '--out', join(work, 'gpu-1'));
    expect(statSync(join(work, 'ca', 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(work, 'gpu-1', 'gpu-1.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(work, 'gpu-1')).mode & 0o777).toBe(0o700);
    expect(execFileSync(opensslBinary(), ['verify', '-CAfile', join(work, 'ca', 'ca.crt'), '-purpose', 'sslclient', join(work, 'gpu-1', 'gpu-1.crt')], { encoding: 'utf8' })).toContain(': OK');
    expect(() => llmux('pki', 'issue', '--ca', join(work, 'ca'), '--name', 'gpu-1', '--client', '--out', join(work, 'gpu-1'))).toThrow(/gpu-1\.key exists: llmux never overwrites/);
  });

  it('identities - connect over TLS in their own cluster; pub/sub and request/reply cross the gateway', async () => {
    const [east, west] = await Promise.all([connectControl(sc.site('east'), 'east-control'), connectControl(sc.site('west'), 'west-control')]);
    const heard: unknown[] = [];
    west.subscribe('probe.cross', (m) => heard.push(m.body));
    west.subscribe('probe.echo', (m: Inbound) => {
      if (m.reply) west.publish(m.reply, { echoed: m.body });
    });
    await west.flush();
    // A gateway learns of a new subscription's interest asynchronously: publish until it arrives.
    await until('a message from east reaches a subscriber in west', async () => {
      east.publish('probe.cross', { from: 'east' });
      await east.flush();
      await new Promise((r) => setTimeout(r, 50));
      return heard.length > 0;
    }, 5000);
    expect(heard[0]).toEqual({ from: 'east' });

    const inbox = east.newInboxPrefix();
    const answers: unknown[] = [];
    east.subscribe(`${inbox}.*`, (m) => answers.push(m.body));
    await east.flush();
    east.publish('probe.echo', { n: 1 }, { reply: `${inbox}.1` });
    await until('west answers east\'s request', () => answers.length > 0, 5000);
    expect(answers).toEqual([{ echoed: { n: 1 } }]);

    // JetStream spans both: a control-plane KV written in east is read in west.
    await (await east.keyValue('cluster_pki_probe')).put('k', { written: 'east' });
    expect((await (await west.keyValue('cluster_pki_probe')).get('k'))?.value).toEqual({ written: 'east' });
  });

  it('identities - a worker identity connects in its own cluster and is refused in another', async () => {
    const worker = sc.site('east').workers[0];
    if (!worker) throw new Error('no worker identity');
    const tls = { caFile: sc.site('east').caFile, certFile: worker.certFile, keyFile: worker.keyFile };
    const own = await connectNats({ servers: sc.site('east').clientUrls.join(','), name: 'east-worker-1', nkeySeed: seedOf(worker.seedFile), tls });
    transports.push(own);
    expect(own.connected()).toBe(true);
    await expect(connectNats({ servers: sc.site('west').clientUrls.join(','), name: 'east-worker-1', nkeySeed: seedOf(worker.seedFile), tls }))
      .rejects.toThrow(/Authorization Violation/);
  });

  it('tls - refuses a client without a certificate and a client with a certificate from another CA', async () => {
    const east = sc.site('east');
    const otherCa = await makeCa({ commonName: 'another CA' });
    const stranger = await issueCertificate(otherCa, { name: 'stranger', usage: 'client' });
    writeFileSync(join(work, 'stranger.crt'), stranger.certPem);
    writeFileSync(join(work, 'stranger.key'), stranger.keyPem, { mode: 0o600 });
    const attempt = (tls: { caFile: string; certFile?: string; keyFile?: string }): Promise<unknown> =>
      connectNats({ servers: east.clientUrls.join(','), name: 'intruder', nkeySeed: seedOf(east.control.seedFile), tls, connectTimeoutMs: 1500 });
    const [noCert, otherCaCert] = await Promise.allSettled([
      attempt({ caFile: east.caFile }),
      attempt({ caFile: east.caFile, certFile: join(work, 'stranger.crt'), keyFile: join(work, 'stranger.key') }),
    ]);
    // Even with the control identity's seed: TLS comes first.
    expect(noCert.status === 'rejected' && noCert.reason).toBeInstanceOf(NatsTlsConnectError);
    expect(otherCaCert.status === 'rejected' && otherCaCert.reason).toBeInstanceOf(NatsTlsConnectError);
    const log = east.servers[0]?.log() ?? '';
    expect(log).toMatch(/TLS handshake error: tls: client didn't provide a certificate/);
    expect(log).toMatch(/TLS handshake error: tls: failed to verify client certificate: x509: certificate signed by unknown authority/);
  });

  it('tls - a nats-server with a gateway certificate from another CA cannot join, even with the gateway password', async () => {
    const otherCa = await makeCa({ commonName: 'rogue CA' });
    const rogue = await issueCertificate(otherCa, { name: 'rogue-1', usage: 'server' });
    writeFileSync(join(work, 'rogue.crt'), rogue.certPem);
    writeFileSync(join(work, 'rogue.key'), rogue.keyPem, { mode: 0o600 });
    const [clientPort, gatewayPort, monitorPort] = [await freePort(), await freePort(), await freePort()];
    const q = JSON.stringify;
    // It trusts the real CA (whose certificate is public) and knows the gateway password: only its own certificate is wrong.
    const tls = `tls { cert_file: ${q(join(work, 'rogue.crt'))}, key_file: ${q(join(work, 'rogue.key'))}, ca_file: ${q(sc.site('east').caFile)}, verify: true, timeout: 2 }`;
    writeFileSync(join(work, 'rogue.conf'), [
      'server_name: "rogue-1"', `listen: "127.0.0.1:${clientPort}"`, `http: "127.0.0.1:${monitorPort}"`,
      `gateway { name: "rogue", listen: "127.0.0.1:${gatewayPort}", ${tls}`,
      `  gateways: [ { name: "east", urls: [${sc.gatewayUrls('east').map((u) => q(u)).join(', ')}] } ] }`, '',
    ].join('\n'), { mode: 0o600 });
    const server = new ServerProcess('rogue-1', await ensureNatsServerBinary({ install: false }), join(work, 'rogue.conf'));
    try {
      const east = sc.site('east').servers[0];
      if (!east) throw new Error('no east server');
      // A Go TLS client (nats-server) does not even send a certificate that the server's CA list does not cover.
      await until('east logs the rogue gateway\'s failed TLS handshake', () => /TLS gateway handshake error: tls: (client didn't provide a certificate|failed to verify client certificate)/.test(east.log()), 10_000)
        .catch((error: unknown) => { throw new Error(`${String(error)}\neast:\n${east.log().slice(-1500)}\nrogue:\n${server.log().slice(-1500)}`); });
      const rogueGateways = await (await fetch(`http://127.0.0.1:${monitorPort}/gatewayz`)).json() as { outbound_gateways: Record<string, { connection?: unknown }> };
      expect(rogueGateways.outbound_gateways.east?.connection).toBeUndefined();
      const eastGateways = await (await fetch(`${east.monitorUrl}/gatewayz`)).json() as Record<string, Record<string, unknown>>;
      expect(Object.keys(eastGateways.inbound_gateways ?? {})).toEqual(['west']);
      expect(Object.keys(eastGateways.outbound_gateways ?? {})).toEqual(['west']);
      expect(server.running()).toBe(true);
    } finally {
      await server.dispose();
    }
  });
});
