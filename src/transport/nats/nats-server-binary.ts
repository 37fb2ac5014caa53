/**
 * Finds the nats-server binary: $LLMUX_NATS_SERVER, then PATH, then /usr/sbin (Debian's package).
 * When it is missing and we run as root with apt-get available, installs Debian's `nats-server`
 * package; otherwise fails with a message that says how to install it.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const candidates = (): string[] => {
  const fromEnv = process.env.LLMUX_NATS_SERVER ? [process.env.LLMUX_NATS_SERVER] : [];
  const fromPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nats-server'));
  return [...fromEnv, ...fromPath, '/usr/sbin/nats-server', '/usr/local/bin/nats-server'];
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findNatsServerBinary(paths: readonly string[] = candidates()): string | undefined {
  return paths.find(isExecutable);
}

export class NatsServerMissingError extends Error {
  override readonly name = 'NatsServerMissingError';
}

export interface EnsureOptions {
  /** Install with apt-get when missing (only done when running as root). */
  install: boolean;
  log?: (line: string) => void;
  /** Where to look (default: $LLMUX_NATS_SERVER, PATH, /usr/sbin, /usr/local/bin). */
  paths?: readonly string[];
}

export async function ensureNatsServerBinary(options: EnsureOptions): Promise<string> {
  const found = findNatsServerBinary(options.paths);
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = isExecutable('/usr/bin/apt-get');
  if (options.install && isRoot && hasApt) {
    options.log?.('llmux: nats-server not found; installing Debian package nats-server with apt-get ...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'nats-server']]) {
      const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
      if (result.status !== 0) throw new NatsServerMissingError(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
    }
    const installed = findNatsServerBinary(options.paths);
    if (installed) return installed;
  }
  throw new NatsServerMissingError(
    'nats-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`; ' +
      'elsewhere see https://docs.nats.io/running-a-nats-service/introduction/installation), ' +
      'or point LLMUX_NATS_SERVER at the binary, or pass --nats URL to use a running server.',
  );
}
