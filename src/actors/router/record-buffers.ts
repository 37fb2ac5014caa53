/**
 * The buffers decision records keep their columns in, recycled: the decision log hands a record's
 * buffer back when it drops the record, and the next decision of the same size takes it. Without
 * this a router deciding over a thousand workers allocates 17 KB of external memory per decision
 * while its log keeps thousands of them, and V8 answers external memory growth with full
 * collections (bench:routing-decision showed 20–100 ms of them inside timed decisions).
 */
const spare = new Map<number, ArrayBuffer[]>();
/** At most this many buffers wait, of all sizes (a fleet's size changes as workers come and go). */
const maxSpare = 1024;
let spareCount = 0;

/** A buffer of `bytes` (its contents are whatever the last record left: the caller overwrites them). */
export function takeBuffer(bytes: number): ArrayBuffer {
  const list = spare.get(bytes);
  const buffer = list?.pop();
  if (!buffer) return new ArrayBuffer(bytes);
  spareCount--;
  if (list?.length === 0) spare.delete(bytes);
  return buffer;
}

/** A buffer no record uses any more. */
export function giveBuffer(buffer: ArrayBuffer): void {
  if (spareCount >= maxSpare) return;
  const list = spare.get(buffer.byteLength);
  if (list) list.push(buffer);
  else spare.set(buffer.byteLength, [buffer]);
  spareCount++;
}
