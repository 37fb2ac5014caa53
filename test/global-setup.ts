// Runs once before the suite: makes sure nats-server and openssl (the multi-cluster tests make a CA)
// are there, installing them with apt-get when missing and running as root, so integration tests can
// start their own servers.
import { ensureOpensslBinary } from '../src/cluster/openssl.js';
import { ensureNatsServerBinary } from '../src/transport/nats/nats-server-binary.js';

export default async function setup(): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const path = await ensureNatsServerBinary({ install: true, log });
  process.env.LLMUX_NATS_SERVER = path;
  ensureOpensslBinary(log);
}
