/**
 * NATS identities and permissions (DESIGN.md §4): each worker connects as its own nkey user that may
 * receive only its own subjects and publish only its own registry events, on its own cluster's
 * registry subject, and answers signed with its own id (`subjects.workerAnswer`: the reply subject
 * plus one token, its id), so a receiver knows which worker sent each frame. Gateways, routers and the
 * limiter share a control identity. The server's config holds public keys only; each process holds
 * its own seed. A stolen worker seed cannot receive or impersonate another worker, nor register in
 * another cluster than the one its identity was made for.
 *
 * What a worker identity may *serve* (function, version, model) is not in these permissions: it is a
 * binding record in the control KV (control/worker-bindings.ts) that routers check. A worker
 * cannot write it, since its permissions allow no JetStream or KV subject (`$JS.API.>`, `$KV.>`).
 */
import { nkeys } from '@nats-io/nats-core';
import { defaultCluster, subjects } from '../subjects.js';

export interface NatsIdentity {
  /** The nkey seed (secret): what the process connects with. */
  seed: string;
  publicKey: string;
}

export function newIdentity(): NatsIdentity {
  const pair = nkeys.createUser();
  return { seed: new TextDecoder().decode(pair.getSeed()), publicKey: pair.getPublicKey() };
}

/** What a worker of `cluster` may do on NATS: its own subjects, its cluster's registry and KV-event subjects and discovery broadcast, replies. */
export function workerPermissions(workerId: string, cluster: string = defaultCluster): { publish: string[]; subscribe: string[] } {
  return {
    publish: [subjects.registry(cluster, workerId), subjects.kvEvents(cluster, workerId), ...subjects.workerAnswers(workerId)],
    subscribe: [subjects.workerInfer(workerId), subjects.workerCancel(workerId), subjects.workerLease(workerId), subjects.workerFlow(workerId),
      subjects.workerDrain(workerId), subjects.discover(cluster)],
  };
}

/** A worker identity in an authorization block; without `cluster`, the default cluster. */
export interface WorkerIdentity {
  workerId: string;
  identity: NatsIdentity;
  cluster?: string;
}

const quote = (s: string): string => JSON.stringify(s);

/**
 * The nats-server `users` entries for a control identity and a set of workers, each line indented by
 * `indent`: the control identity unrestricted, each worker with its own subjects only.
 */
export function userEntries(control: NatsIdentity, workers: ReadonlyArray<WorkerIdentity>, indent = '    '): string[] {
  return [
    `${indent}{ nkey: ${quote(control.publicKey)} }`,
    ...workers.map(({ workerId, identity, cluster }) => {
      const p = workerPermissions(workerId, cluster);
      return [
        `${indent}{ nkey: ${quote(identity.publicKey)}, permissions: {`,
        `${indent}    publish: { allow: [${p.publish.map(quote).join(', ')}] }`,
        `${indent}    subscribe: { allow: [${p.subscribe.map(quote).join(', ')}] }`,
        // No `allow_responses`: nats-server keeps one entry per request delivered to such a user until
        // its expiry, and once there are 4,096 it scans them all on every delivery (client.go
        // pruneReplyPerms), so at a steady 2,000 requests/s throughput halved within a minute
        // (docs/benchmarks.md, "Sustained load"). Answers are signed subjects instead (workerAnswers).
        `${indent}} }`,
      ].join('\n');
    }),
  ];
}

/** The `authorization` block of a nats-server config for a control identity and a set of workers. */
export function authorizationConfig(control: NatsIdentity, workers: ReadonlyArray<WorkerIdentity>): string {
  return `authorization {\n  users = [\n${userEntries(control, workers).join('\n')}\n  ]\n}\n`;
}
