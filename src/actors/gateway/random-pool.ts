/**
 * Random bytes from a pool the CSPRNG fills 4 KiB at a time, as node's randomUUID does: ids taken
 * from it are as unguessable as `randomBytes`' own, without a `randomBytes` call per request. One
 * such call (a stream id) was 14 µs of the gateway's CPU per request, one request at a time
 * (docs/benchmarks.md, "Fixed costs per request: one request at a time").
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let used = pool.length;

/** The offset of `bytes` (at most 4,096) fresh random bytes in the pool. */
function take(bytes: number): number {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += bytes;
  return at;
}

export function randomHex(bytes: number): string {
  const at = take(bytes);
  return pool.toString('hex', at, at + bytes);
}

export function randomBase64url(bytes: number): string {
  const at = take(bytes);
  return pool.toString('base64url', at, at + bytes);
}
