// Runs once before the suite: makes sure a nats-server binary is there (installing it with apt-get
// when missing and running as root), so integration tests can start their own servers.
import { ensureNatsServerBinary } from '../src/transport/nats/nats-server-binary.js';

export default async function setup(): Promise<void> {
  const path = await ensureNatsServerBinary({ install: true, log: (line) => process.stderr.write(`${line}\n`) });
  process.env.LLMUX_NATS_SERVER = path;
}
