/**
 * Finds the nats-server binary: $LLMUX_NATS_SERVER, then PATH, then /usr/sbin (Debian's package).
 * When it is missing and we run as root with apt-get available, installs Debian's `nats-server`
 * package; otherwise fails with a message that says how to install it.
 */
import { delimiter, join } from 'node:path';
import { canInstallPackages, installDebianPackage, isExecutable } from '../../os/debian-package.js';

const candidates = (): string[] => {
  const fromEnv = process.env.LLMUX_NATS_SERVER ? [process.env.LLMUX_NATS_SERVER] : [];
  const fromPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nats-server'));
  return [...fromEnv, ...fromPath, '/usr/sbin/nats-server', '/usr/local/bin/nats-server'];
};

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
  if (options.install && canInstallPackages()) {
    options.log?.('llmux: nats-server not found');
    try {
      installDebianPackage('nats-server', options.log);
    } catch (error) {
      throw new NatsServerMissingError((error as Error).message);
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
