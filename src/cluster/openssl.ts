/**
 * Runs Debian's `openssl` binary (docs/dependencies.md says why not a JS library). Found as
 * $LLMUX_OPENSSL, else on PATH or at /usr/bin/openssl; looked up once.
 */
import { spawn } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { canInstallPackages, installDebianPackage, isExecutable } from '../os/debian-package.js';

export class OpensslMissingError extends Error {
  override readonly name = 'OpensslMissingError';
  readonly code = 'openssl_missing';
}

export class OpensslFailedError extends Error {
  override readonly name = 'OpensslFailedError';
  readonly code = 'openssl_failed';
}

let found: string | undefined;

/** Where to look: $LLMUX_OPENSSL alone when it is set, else PATH and /usr/bin. */
const candidates = (): string[] => (process.env.LLMUX_OPENSSL
  ? [process.env.LLMUX_OPENSSL]
  : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'openssl')), '/usr/bin/openssl']);

/** The openssl binary, or an error that says how to install it. Commands call it first, before writing anything. */
export function opensslBinary(paths?: readonly string[]): string {
  if (!paths && found) return found;
  const path = (paths ?? candidates()).find(isExecutable);
  if (!path) {
    throw new OpensslMissingError(`openssl was not found${process.env.LLMUX_OPENSSL ? ` at LLMUX_OPENSSL=${process.env.LLMUX_OPENSSL}` : ''}: llmux makes its certificates with it. ` +
      'Install it (Debian/Ubuntu: `sudo apt-get install openssl`; macOS: `brew install openssl`), or point LLMUX_OPENSSL at the binary.');
  }
  if (!paths) found = path;
  return path;
}

/** The openssl binary, installed first from Debian's package when missing and this process may (the test suite's setup). */
export function ensureOpensslBinary(log?: (line: string) => void): string {
  try {
    return opensslBinary();
  } catch (error) {
    if (!(error instanceof OpensslMissingError) || !canInstallPackages() || process.env.LLMUX_OPENSSL) throw error;
    installDebianPackage('openssl', log);
    return opensslBinary();
  }
}

/** Runs `openssl ARGS` (files only, no stdin); resolves with stdout, rejects with stderr's last lines. */
export function openssl(args: readonly string[]): Promise<string> {
  const binary = opensslBinary();
  return new Promise((resolve, reject) => {
    // No stdin pipe: openssl may exit before reading one, and writing to it then fails with EPIPE.
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    child.once('error', (error) => reject(new OpensslFailedError(`could not run ${binary}: ${error.message}`, { cause: error })));
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new OpensslFailedError(`openssl ${args[0] ?? ''} failed (exit ${code}): ${stderr.trim() || 'no output'}`));
    });
  });
}
