/**
 * The peer gateway for bench:peers, installed at bench time into a scratch directory outside the
 * repository (never a dependency of llmux): `npm install --prefix DIR @portkey-ai/gateway@VERSION
 * --save-exact --ignore-scripts`. An install already there at that version is reused.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const peerPackage = '@portkey-ai/gateway';
/** Pinned: the figures in docs/benchmarks.md are for this version. */
export const peerVersion = '1.15.2';

export interface PeerInstall {
  package: string;
  version: string;
  license: string;
  /** The scratch directory (npm --prefix). */
  dir: string;
  /** The peer's server entry, run with `node ENTRY --port=N --headless`. */
  entry: string;
  /** True when this call ran npm install; false when an earlier install was reused. */
  installed: boolean;
}

/** `$LLMUX_BENCH_CACHE` or `~/.cache/llmux-bench`, then `portkey-VERSION`. */
export function peerDir(): string {
  return join(process.env.LLMUX_BENCH_CACHE ?? join(homedir(), '.cache', 'llmux-bench'), `portkey-${peerVersion}`);
}

function readInstalled(dir: string): { version: string; license: string; entry: string } | undefined {
  const pkgDir = join(dir, 'node_modules', ...peerPackage.split('/'));
  const manifest = join(pkgDir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string; license?: string; bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0];
  if (!pkg.version || !bin) return undefined;
  const entry = join(pkgDir, bin);
  return existsSync(entry) ? { version: pkg.version, license: pkg.license ?? 'unknown', entry } : undefined;
}

/** Installs the pinned peer unless it is already in its directory; throws with npm's output when the install fails. */
export function ensurePeer(log: (line: string) => void = () => undefined): PeerInstall {
  const dir = peerDir();
  const found = readInstalled(dir);
  if (found?.version === peerVersion) return { package: peerPackage, ...found, dir, installed: false };
  mkdirSync(dir, { recursive: true });
  log(`installing ${peerPackage}@${peerVersion} into ${dir} (npm, install scripts ignored)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['install', '--prefix', dir, `${peerPackage}@${peerVersion}`, '--save-exact', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel', 'error'],
    { stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  const now = readInstalled(dir);
  if (now?.version !== peerVersion) throw new Error(`${peerPackage}@${peerVersion} is not in ${dir} after npm install`);
  return { package: peerPackage, ...now, dir, installed: true };
}
