// What readiness asks of a JetStream meta leader, against a monitoring endpoint that answers as
// nats-server 2.9.10's /jsz does (the shape read off a real supercluster of east-1 and west-1).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, type ReadinessTarget } from './supercluster-ready.js';
import type { ServerProcess } from './supercluster-server.js';

let server: Server;
let meta: Record<string, unknown> = {};
let url = '';
beforeAll(async () => {
  server = createServer((req, res) => res.end(JSON.stringify(req.url === '/jsz' ? { meta_cluster: meta } : {})));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const target = (name: string): ReadinessTarget => ({
  name, monitorUrl: url, process: {} as ServerProcess, routes: 0, gateways: [], leafnodes: 0, jetstream: true, jetstreamPeers: ['east-1', 'west-1'],
});

describe('supercluster readiness, JetStream', () => {
  it('wants the meta leader to see every other JetStream server as a current, online peer', async () => {
    meta = { name: 'west', leader: 'west-1', cluster_size: 2 };
    expect(await missing(target('west-1'))).toEqual(['JetStream peer east-1 not yet current and online for the meta leader']);
    meta = { ...meta, replicas: [{ name: 'east-1', current: true, offline: true }] };
    expect(await missing(target('west-1'))).toHaveLength(1);
    meta = { ...meta, replicas: [{ name: 'east-1', current: false }] };
    expect(await missing(target('west-1'))).toHaveLength(1);
    meta = { ...meta, replicas: [{ name: 'east-1', current: true, active: 33614615, peer: 'qEhu2Hj6' }] };
    expect(await missing(target('west-1'))).toEqual([]);
  });

  it('asks a server that is not the leader only that there is one', async () => {
    meta = { name: 'east', leader: 'west-1', cluster_size: 2 };
    expect(await missing(target('east-1'))).toEqual([]);
    meta = { name: 'east', cluster_size: 2 };
    expect(await missing(target('east-1'))).toEqual(['no JetStream meta leader']);
  });
});
