/**
 * KV block hashes as vLLM computes them with `--prefix-caching-hash-algo sha256_cbor`: a block's
 * hash is SHA-256 over the canonical CBOR of the tuple (parent block's hash, the block's token ids,
 * extra keys), chained from a seed hash for the first block; its KV events carry the low 64 bits as
 * an unsigned integer (`VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES`, on by default). The simulator has no
 * LoRA, multimodal inputs or cache salt, so the extra keys are always nil. The seed is ours (vLLM's
 * derives from PYTHONHASHSEED or a fixed default), so the hashes are the same kind of values as
 * vLLM's, deterministic across processes, but not bit-identical to a real engine's.
 */
import { createHash } from 'node:crypto';

export interface BlockHash {
  /** The full digest, chained into the next block's hash. */
  digest: Buffer;
  /** What KV events carry: the low 64 bits, big-endian. */
  external: bigint;
}

function cborHead(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

const NIL = Buffer.from([0xf6]);

/** Canonical CBOR of [parent bytes, [token ids…], nil]. */
function cborTuple(parent: Buffer, tokens: readonly number[]): Buffer {
  const parts: Buffer[] = [cborHead(4, 3), cborHead(2, parent.length), parent, cborHead(4, tokens.length)];
  for (const t of tokens) parts.push(cborHead(0, t));
  parts.push(NIL);
  return Buffer.concat(parts);
}

const seedDigest = createHash('sha256').update('llmux-sim block hash seed').digest();
export const NONE_HASH: BlockHash = { digest: seedDigest, external: seedDigest.readBigUInt64BE(24) };

export function hashBlock(parent: BlockHash | undefined, tokens: readonly number[]): BlockHash {
  const digest = createHash('sha256').update(cborTuple((parent ?? NONE_HASH).digest, tokens)).digest();
  return { digest, external: digest.readBigUInt64BE(24) };
}
