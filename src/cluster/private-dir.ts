/**
 * Owner-only output for keys, seeds and configs that hold passwords. A directory is made with mode
 * 0700, or, when it exists, must be a real directory of ours that no one else can write to (a
 * symlink or another user's directory could hand what we write to someone else). Files are created
 * exclusively (O_CREAT | O_EXCL, `wx`): never over an existing file, never through a planted symlink.
 */
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class UnsafeOutputError extends Error {
  override readonly name = 'UnsafeOutputError';
  readonly code = 'unsafe_output';
}

/** Makes `path` (0700; parents as needed) or checks that the existing one is safe to write into. */
export function ensurePrivateDir(path: string): string {
  const dir = resolve(path);
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw new UnsafeOutputError(`${dir} exists and is not a directory (a symlink is refused too)`);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) throw new UnsafeOutputError(`${dir} belongs to another user: choose a directory of your own`);
  if ((stat.mode & 0o022) !== 0) throw new UnsafeOutputError(`${dir} can be written by other users (mode ${(stat.mode & 0o777).toString(8)}): chmod go-w it, or choose another directory`);
  return dir;
}

/** As ensurePrivateDir, and the directory must be empty: one deployment per directory. */
export function ensureEmptyPrivateDir(path: string): string {
  const dir = ensurePrivateDir(path);
  if (readdirSync(dir).length > 0) throw new UnsafeOutputError(`${dir} is not empty: choose a new --out directory`);
  return dir;
}

/** A secret: mode 0600, and the file must not exist yet. */
export function writePrivateFile(path: string, content: string): void {
  writeExclusive(path, content, 0o600);
}

/** A certificate, a config without secrets, a README: mode 0644, and the file must not exist yet. */
export function writePublicFile(path: string, content: string): void {
  writeExclusive(path, content, 0o644);
}

function writeExclusive(path: string, content: string, mode: number): void {
  try {
    writeFileSync(path, content, { mode, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UnsafeOutputError(`${path} exists: llmux never overwrites a key or certificate; remove it or choose another directory`);
    throw error;
  }
}
