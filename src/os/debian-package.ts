/**
 * Installing a missing tool from Debian's packages, the one way llmux installs anything on a host:
 * only when asked, only as root, only with apt-get present. Everything else gets a message saying
 * how to install it.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether this process may install packages: root, with apt-get. */
export function canInstallPackages(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0 && isExecutable('/usr/bin/apt-get');
}

/** `apt-get update && apt-get install -y pkg`, its output passed through; throws on failure. */
export function installDebianPackage(pkg: string, log?: (line: string) => void): void {
  log?.(`llmux: installing Debian package ${pkg} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', pkg]]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
  }
}
