import { describe, expect, it } from 'vitest';
import { planDeployment } from './deployment-plan.js';
import { parseDeploymentSpec } from './deployment-spec.js';
import { jetStreamDomain, natsAccount, renderServerConfig } from './server-config.js';

const files = { caFile: 'ca.crt', certFile: 'server.crt', keyFile: 'server.key', authFile: 'auth.conf', storeDir: 'jetstream' };
const secrets = { core: 'core-secret-0123456789', leaf: 'leaf-secret-0123456789' };
const plan = planDeployment(parseDeploymentSpec({ clusters: 'us-east,us-west,eu', serversPerCluster: 2, leaf: 'edge@us-west', basePort: 14222 }));
const config = (name: string): string => renderServerConfig(plan, plan.servers.find((s) => s.name === name) ?? (() => { throw new Error(name); })(), files, secrets);

describe('nats-server config of a supercluster', () => {
  it('puts TLS with the CA and verify: true on every listener of a cluster server', () => {
    const text = config('us-west-2');
    const tls = text.split('\n').filter((l) => l.includes('tls {'));
    expect(tls).toHaveLength(4); // client, cluster, gateway, leaf nodes
    for (const line of tls) expect(line).toContain('cert_file: "server.crt", key_file: "server.key", ca_file: "ca.crt", verify: true');
  });

  it('routes to every server of its own cluster, itself included (2.9.10 needs a route for JetStream)', () => {
    const text = config('us-east-1');
    expect(text).toContain('routes: ["nats-route://llmux-route:core-secret-0123456789@127.0.0.1:15222", "nats-route://llmux-route:core-secret-0123456789@127.0.0.1:15223"]');
    expect(text).not.toContain('127.0.0.1:15224'); // us-west's
  });

  it('names every cluster\'s gateways, and the gateway after its cluster', () => {
    const text = config('eu-1');
    expect(text).toMatch(/cluster \{\n {2}name: "eu"/);
    expect(text).toMatch(/gateway \{\n {2}name: "eu"/);
    for (const [cluster, ports] of [['us-east', [16222, 16223]], ['us-west', [16224, 16225]], ['eu', [16226, 16227]]] as const) {
      expect(text).toContain(`{ name: "${cluster}", urls: [${ports.map((p) => `"nats://llmux-gateway:core-secret-0123456789@127.0.0.1:${p}"`).join(', ')}] }`);
    }
  });

  it('gives each server its own name, store and JetStream in the llmux account with the supercluster domain', () => {
    const text = config('eu-2');
    expect(text).toContain('server_name: "eu-2"');
    expect(text).toContain(`jetstream { store_dir: "jetstream", domain: "${jetStreamDomain}" }`);
    expect(text).toContain(`  ${natsAccount}: {\n    jetstream: enabled\n    include "auth.conf"\n  }`);
    expect(text).toContain('system_account: SYS');
  });

  it('listens for leaf nodes only on the hub, with the leaf password and not the core one', () => {
    expect(config('us-east-1')).not.toContain('leafnodes');
    const hub = config('us-west-1');
    expect(hub).toContain('leafnodes {\n  listen: "127.0.0.1:17224"');
    expect(hub).toContain('authorization { user: "llmux-leaf", password: "leaf-secret-0123456789", account: "LLMUX" }');
  });

  it('makes the leaf a JetStream-less server that dials every hub server, holding no core secret', () => {
    const leaf = config('edge-1');
    expect(leaf).not.toContain('core-secret');
    expect(leaf).not.toMatch(/^jetstream/m);
    expect(leaf).not.toContain('gateway {');
    expect(leaf).toContain('urls: ["tls://llmux-leaf:leaf-secret-0123456789@127.0.0.1:17224", "tls://llmux-leaf:leaf-secret-0123456789@127.0.0.1:17225"]');
    expect(leaf.split('\n').filter((l) => l.includes('tls {'))).toHaveLength(2);
  });

  it('refuses a link secret that would not survive inside a URL', () => {
    expect(() => renderServerConfig(plan, plan.servers[0] as never, files, { core: 'has spaces and @ in it!', leaf: secrets.leaf })).toThrow(/URL-safe/);
  });
});
