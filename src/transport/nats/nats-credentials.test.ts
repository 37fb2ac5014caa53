// Worker credentials on a real nats-server: a worker's nkey user receives only its own subjects and
// publishes only its own registry events (in its own cluster) and answers signed with its own id; an unknown identity cannot
// connect at all.
import { connect } from '@nats-io/transport-node';
import { nkeyAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCluster, subjects } from '../subjects.js';
import { authorizationConfig, newIdentity } from './nats-credentials.js';
import { connectNats } from './nats-transport.js';
import { type NatsServerHandle, startNatsServer } from './nats-server-process.js';

const control = newIdentity();
const a = newIdentity();
const b = newIdentity();
let server: NatsServerHandle;
const connections: NatsConnection[] = [];

const as = async (seed: string): Promise<NatsConnection> => {
  const nc = await connect({ servers: server.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), reconnect: false });
  connections.push(nc);
  return nc;
};
/** The next permission error the server reports on this connection. */
const nextPermissionError = (nc: NatsConnection): Promise<string> => new Promise((resolve) => {
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') return resolve(String(s.error));
  })();
});

beforeAll(async () => {
  // worker-a in the default cluster, worker-b in cluster 'east'.
  server = await startNatsServer({ config: authorizationConfig(control, [{ workerId: 'worker-a', identity: a }, { workerId: 'worker-b', identity: b, cluster: 'east' }]) });
});
afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => undefined);
  await server?.stop();
});

describe('worker credentials', () => {
  it('lets a worker receive its own requests and answer them many times (a stream), signed with its own id', async () => {
    const ctl = await as(control.seed);
    const wa = await as(a.seed);
    wa.subscribe(subjects.workerInfer('worker-a'), { callback: (_e, m) => {
      for (let i = 0; i < 5; i++) wa.publish(subjects.workerAnswer(m.reply as string, 'worker-a'), new TextEncoder().encode(`frame ${i}`));
    }, max: 1 });
    await wa.flush();
    const inbox = '_INBOX.test-stream';
    const frames: string[] = [];
    ctl.subscribe(`${inbox}.>`, { callback: (_e, m) => void frames.push(`${m.subject} ${new TextDecoder().decode(m.data)}`) });
    ctl.publish(subjects.workerInfer('worker-a'), 'req', { reply: `${inbox}.t1` });
    await new Promise((r) => setTimeout(r, 300));
    expect(frames).toEqual([0, 1, 2, 3, 4].map((i) => `${inbox}.t1.worker-a frame ${i}`));
  });

  it('refuses a worker an unsigned answer, or one signed with another worker\'s id, even to a request it received', async () => {
    const ctl = await as(control.seed);
    const wa = await as(a.seed);
    let received: string | undefined;
    wa.subscribe(subjects.workerInfer('worker-a'), { callback: (_e, m) => void (received = m.reply) });
    await wa.flush();
    const heard: string[] = [];
    ctl.subscribe('_INBOX.test-forged.>', { callback: (_e, m) => void heard.push(m.subject) });
    ctl.publish(subjects.workerInfer('worker-a'), 'req', { reply: '_INBOX.test-forged.t1' });
    await ctl.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toBe('_INBOX.test-forged.t1');
    for (const subject of ['_INBOX.test-forged.t1', subjects.workerAnswer('_INBOX.test-forged.t1', 'worker-b'), '_INBOX.test-forged.t1.worker-a.more']) {
      const error = nextPermissionError(wa);
      wa.publish(subject, 'forged');
      expect(await error).toContain(`Permissions Violation for Publish to "${subject}"`);
    }
    await ctl.flush();
    expect(heard, JSON.stringify(heard)).toEqual([]);
  });

  it('gives a worker no allow_responses: nats-server would keep an entry per request it received and scan them all on every delivery', () => {
    // Held until they expire, the entries grow with the request rate; past 4,096 every delivery to the
    // worker scans the whole map (nats-server client.go pruneReplyPerms). docs/benchmarks.md, "Sustained load".
    expect(authorizationConfig(control, [{ workerId: 'worker-a', identity: a }])).not.toContain('allow_responses');
  });

  it("refuses a worker another worker's requests, and never delivers them", async () => {
    const ctl = await as(control.seed);
    const wa = await as(a.seed);
    const error = nextPermissionError(wa);
    const stolen: string[] = [];
    wa.subscribe(subjects.workerInfer('worker-b'), { callback: (e, m) => void (e ? undefined : stolen.push(m.subject)) });
    expect(await error).toMatch(/Permissions Violation for Subscription to "llmux\.worker\.worker-b\.infer"/);
    ctl.publish(subjects.workerInfer('worker-b'), 'for b only');
    await ctl.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(stolen).toEqual([]);
  });

  it("refuses a worker publishing into another worker's subjects or registering as it", async () => {
    const wa = await as(a.seed);
    for (const subject of [subjects.workerInfer('worker-b'), subjects.registry('east', 'worker-b'), subjects.registry(defaultCluster, 'worker-b'), subjects.route('demo')]) {
      const error = nextPermissionError(wa);
      wa.publish(subject, 'forged');
      expect(await error).toContain(`Permissions Violation for Publish to "${subject}"`);
    }
  });

  it('lets a worker register only in the cluster its identity was made for, and hear only that cluster\'s discovery', async () => {
    const wb = await as(b.seed);
    const heard: string[] = [];
    wb.subscribe(subjects.discover('east'), { callback: (e, m) => void (e ? undefined : heard.push(m.subject)) });
    wb.publish(subjects.registry('east', 'worker-b'), 'heartbeat');
    await wb.flush();
    const ctl = await as(control.seed);
    ctl.publish(subjects.discover('east'), 'discover');
    await ctl.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toEqual([subjects.discover('east')]);

    const publishError = nextPermissionError(wb);
    wb.publish(subjects.registry(defaultCluster, 'worker-b'), 'forged');
    expect(await publishError).toContain(`Permissions Violation for Publish to "${subjects.registry(defaultCluster, 'worker-b')}"`);
    const subscribeError = nextPermissionError(wb);
    wb.subscribe(subjects.discover(defaultCluster), { callback: () => undefined });
    expect(await subscribeError).toContain(`Permissions Violation for Subscription to "${subjects.discover(defaultCluster)}"`);
  });

  it('refuses a worker writing the control plane, so it cannot bind itself to another function', async () => {
    const wa = await as(a.seed);
    for (const subject of ['$KV.llmux_control.workers.worker-a', '$JS.API.STREAM.INFO.KV_llmux_control']) {
      const error = nextPermissionError(wa);
      wa.publish(subject, JSON.stringify({ functionId: 'secret', versionId: '*', model: '*' }));
      expect(await error).toContain(`Permissions Violation for Publish to "${subject}"`);
    }
  });

  it('does not let an identity the server does not know connect, so it cannot register', async () => {
    const stranger = newIdentity();
    await expect(as(stranger.seed)).rejects.toThrow(/Authorization Violation/i);
  });

  it('takes a new worker identity on a configuration reload, without a restart', async () => {
    const c = newIdentity();
    await expect(as(c.seed)).rejects.toThrow(/Authorization Violation/i);
    await server.reload(authorizationConfig(control, [{ workerId: 'worker-a', identity: a }, { workerId: 'worker-b', identity: b, cluster: 'east' }, { workerId: 'worker-c', identity: c }]));
    const wc = await as(c.seed);
    wc.publish(subjects.registry(defaultCluster, 'worker-c'), 'hello');
    await wc.flush();
  });

  it('keeps JetStream on across a reload, so the control plane still answers after a worker is added', async () => {
    const ctl = await connectNats({ servers: server.url, name: 'control', nkeySeed: control.seed });
    try {
      const kv = await ctl.keyValue('llmux_control_reload_test');
      await kv.put('workers.a', { before: true });
      await server.reload(authorizationConfig(control, [{ workerId: 'worker-a', identity: a }, { workerId: 'worker-d', identity: newIdentity() }]));
      await kv.put('workers.d', { after: true });
      expect((await kv.get('workers.a'))?.value).toEqual({ before: true });
    } finally {
      await ctl.close();
    }
  });
});
