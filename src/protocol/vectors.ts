/**
 * Embedding vectors between a worker and its gateway: float64 little-endian bytes (the engine's
 * numbers exactly, whatever JSON they came in), packed into frames under a size budget so a big
 * batch crosses NATS as several messages, each under its max_payload.
 */
export interface VectorBlock {
  /** The index of the block's first vector. */
  first: number;
  dims: number;
  /** `count * dims` float64 values, little-endian. */
  data: Uint8Array;
}

/** `vectors` (all of one length) in blocks of at most `maxBytes` each (at least one vector a block). */
export function packVectors(vectors: readonly (readonly number[])[], maxBytes: number): VectorBlock[] {
  const dims = vectors[0]?.length ?? 0;
  const perBlock = Math.max(1, Math.floor(maxBytes / Math.max(1, dims * 8)));
  const blocks: VectorBlock[] = [];
  for (let first = 0; first < vectors.length; first += perBlock) {
    const slice = vectors.slice(first, first + perBlock);
    const data = new Uint8Array(slice.length * dims * 8);
    const view = new DataView(data.buffer);
    slice.forEach((v, i) => v.forEach((x, j) => view.setFloat64((i * dims + j) * 8, x, true)));
    blocks.push({ first, dims, data });
  }
  return blocks;
}

/** How many vectors a block holds, or undefined when its bytes are not whole vectors. */
export function blockLength(block: VectorBlock): number | undefined {
  const size = block.dims * 8;
  return size > 0 && block.data.byteLength % size === 0 ? block.data.byteLength / size : undefined;
}

/** Vector `i` of a block as numbers. */
export function vectorOf(block: VectorBlock, i: number): number[] {
  const view = new DataView(block.data.buffer, block.data.byteOffset, block.data.byteLength);
  const out = new Array<number>(block.dims);
  for (let j = 0; j < block.dims; j++) out[j] = view.getFloat64((i * block.dims + j) * 8, true);
  return out;
}

/** A vector as OpenAI's base64: its values as float32, little-endian. */
export function base64Float32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((x, j) => bytes.writeFloatLE(x, j * 4));
  return bytes.toString('base64');
}
