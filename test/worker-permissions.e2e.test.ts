// A worker whose nats-server user entry predates signed answers (`allow_responses`, no
// `_INBOX.*.*.<id>` publish) would start, register and then time out on every request, its answers
// refused. It refuses to start instead, and says what its entry lacks; with today's entry it starts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFunctionId, demoVersionId } from '../src/control/demo-function.js';
import { runWorker } from '../src/launch/roles.js';
import { silentLogger } from '../src/observability/logger.js';
import { type SimServer, startSim } from '../src/sim/sim-server.js';
import { authorizationConfig, newIdentity, workerPermissions } from '../src/transport/nats/nats-credentials.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { subjects } from '../src/transport/subjects.js';

const control = newIdentity();
const old = newIdentity();
const current = newIdentity();
let server: NatsServerHandle;
let sim: SimServer;

/** The entry llmux wrote before signed answers: replies by `allow_responses`, no inbox publish. */
function entryBeforeSignedAnswers(workerId: string, publicKey: string): string {
  const p = workerPermissions(workerId);
  const list = (xs: string[]): string => xs.map((x) => JSON.stringify(x)).join(', ');
  return `{ nkey: ${JSON.stringify(publicKey)}, permissions: {
      publish: { allow: [${list(p.publish.filter((s) => !s.startsWith('_INBOX.')))}] }
      subscribe: { allow: [${list(p.subscribe)}] }
      allow_responses: { max: 1000000, expires: "10m" }
  } }`;
}

beforeAll(async () => {
  const config = authorizationConfig(control, [{ workerId: 'current-worker', identity: current }])
    .replace('  ]\n}', `    ${entryBeforeSignedAnswers('old-worker', old.publicKey)}\n  ]\n}`);
  server = await startNatsServer({ config });
  sim = await startSim({ models: ['llmux-sim-8b'] });
});
afterAll(async () => {
  await sim?.close();
  await server?.stop();
});

const start = (workerId: string, nkeySeed: string) => runWorker({
  natsUrl: server.url, nkeySeed, log: silentLogger(), engineKind: 'vllm', engineUrl: sim.url,
  functionId: demoFunctionId, versionId: demoVersionId, model: 'llmux-sim-8b', workerId, engineWaitMs: 2_000,
});

describe('worker permissions', () => {
  it('refuses to start a worker whose entry predates signed answers, naming the subjects it lacks', async () => {
    const error = await start('old-worker', old.seed).then(async (w) => {
      await w.stop();
      return undefined;
    }, (e: unknown) => e);
    expect(String(error)).toContain("NATS refused worker 'old-worker' a signed answer");
    for (const subject of subjects.workerAnswers('old-worker')) expect(String(error)).toContain(`"${subject}"`);
  });

  it('starts a worker with the entry llmux writes today', async () => {
    const worker = await start('current-worker', current.seed);
    await worker.stop();
  });
});
