/**
 * Where `llmux up` keeps the secrets it makes (the admin key, the NATS control seed): a fresh
 * directory under the temp dir, made by mkdtemp (a random name, mode 0700: only its owner can list
 * or enter it), holding files created exclusively with mode 0600. A predictable path would let
 * another local user plant a file or a symlink there first and read what llmux writes through it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class PrivateFiles {
  #dir: string | undefined;

  /** Writes `content` to a new file `name` and returns its path; throws if the file exists. */
  write(name: string, content: string): string {
    this.#dir ??= mkdtempSync(join(tmpdir(), 'llmux-up-'));
    const path = join(this.#dir, name);
    // 'wx' is O_CREAT | O_EXCL: never an existing file, never through a symlink.
    writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
    return path;
  }

  /** Removes the directory and everything in it; safe to call more than once. */
  remove(): void {
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}

/** Secret-bearing flags and the variable that carries each without showing it in `ps`. */
const secretFlags = [['--api-key', 'LLMUX_API_KEY'], ['--admin-key', 'LLMUX_ADMIN_KEY'], ['--engine-api-key', 'LLMUX_ENGINE_API_KEY']] as const;

/** One warning per secret given as a flag: every local user sees a process's arguments, and shells keep them. */
export function secretFlagWarnings(argv: readonly string[]): string[] {
  return secretFlags
    .filter(([flag]) => argv.some((a) => a === flag || a.startsWith(`${flag}=`)))
    .map(([flag, env]) => `warning: ${flag} on the command line is visible to every local user (ps, /proc) and stays in your shell history; set ${env} instead`);
}
