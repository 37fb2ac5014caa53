// reapOnExit in a real parent process (a node script over the build's dist/bench/lib/child-reaper.js;
// `npm test` builds first): its child must be gone once the parent ends, by a signal or by exiting.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const reaper = pathToFileURL(resolve('dist/bench/lib/child-reaper.js')).href;

/** A parent that starts one idle child under reapOnExit, prints its pid, then waits, or exits at once with `exitAfter`. */
function parent(exitAfter: boolean) {
  const script = `
    import { spawn } from 'node:child_process';
    import { reapOnExit } from ${JSON.stringify(reaper)};
    const child = reapOnExit(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
    process.stdout.write(child.pid + '\\n');
    ${exitAfter ? 'setTimeout(() => process.exit(0), 100);' : 'setInterval(() => {}, 1000);'}
  `;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => p.once('exit', (code) => done(code)));
  const pid = new Promise<number>((done) => p.stdout.once('data', (d: Buffer) => done(Number(String(d).trim()))));
  return { p, pid, exited };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (!alive(pid)) return true;
  return !alive(pid);
}

describe('reapOnExit', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops the child when the bench gets ${signal}, and exits 128 + the signal's number`, async () => {
      const { p, pid, exited } = parent(false);
      const childPid = await pid;
      expect(alive(childPid)).toBe(true);
      p.kill(signal);
      expect(await exited).toBe(signal === 'SIGTERM' ? 143 : 130);
      expect(await goneWithin(childPid, 5_000)).toBe(true);
    });
  }

  it('stops the child when the bench exits on its own', async () => {
    const { pid, exited } = parent(true);
    const childPid = await pid;
    expect(await exited).toBe(0);
    expect(await goneWithin(childPid, 5_000)).toBe(true);
  });
});
