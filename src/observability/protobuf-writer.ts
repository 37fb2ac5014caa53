/**
 * A protobuf wire-format writer in one pass over one growing Buffer. A nested message reserves one
 * byte for its length and moves its body when the length needs more, so every length is the
 * shortest varint, as protobuf's own encoders write them.
 */

/** Each ASCII character's value as a hex digit (0 for what is not one). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = HEX[65 + i] = 10 + i;

/** The wire types this writer emits. */
export const Wire = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;
type WireType = (typeof Wire)[keyof typeof Wire];

export class ProtobufWriter {
  #buf: Buffer;
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Room for `bytes` more bytes. */
  #reserve(bytes: number): void {
    if (this.pos + bytes <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#buf.copy(grown, 0, 0, this.pos);
    this.#buf = grown;
  }

  /** The bytes written, without copying them. */
  finish(): Buffer {
    return this.#buf.subarray(0, this.pos);
  }

  tag(field: number, wire: WireType): void {
    this.uint32((field << 3) | wire);
  }

  /** A varint of a number in [0, 2^32). */
  uint32(value: number): void {
    this.#reserve(5);
    const buf = this.#buf;
    let v = value >>> 0;
    while (v > 0x7f) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** An int64 varint of an integer in [-2^63, 2^63): negatives in two's complement (ten bytes). */
  int64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) return this.uint32(value);
    let [low, high] = split64(value);
    this.#reserve(10);
    const buf = this.#buf;
    while (high > 0 || low > 0x7f) {
      buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low;
  }

  fixed32(value: number): void {
    this.#reserve(4);
    this.#buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /** A fixed64 from its two 32-bit halves. */
  fixed64(low: number, high: number): void {
    this.#reserve(8);
    this.#buf.writeUInt32LE(low >>> 0, this.pos);
    this.#buf.writeUInt32LE(high >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(value: number): void {
    this.#reserve(8);
    this.#buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A length-prefixed UTF-8 string. Short ASCII strings, nearly all of a span's, are copied char by char. */
  string(s: string): void {
    const n = s.length;
    if (n < 128) {
      this.#reserve(n + 1);
      const buf = this.#buf;
      const start = this.pos;
      buf[start] = n;
      let p = start + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) {
          this.pos = start;
          return this.#utf8(s);
        }
        buf[p++] = c;
      }
      this.pos = p;
      return;
    }
    this.#utf8(s);
  }

  #utf8(s: string): void {
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint32(bytes);
    this.#reserve(bytes);
    this.#buf.write(s, this.pos, bytes, 'utf8');
    this.pos += bytes;
  }

  /** Length-prefixed raw bytes. */
  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.#reserve(value.length);
    this.#buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Length-prefixed bytes from a hex string (trace and span ids); a character that is not hex counts as 0. */
  hex(value: string): void {
    const bytes = value.length >>> 1;
    this.uint32(bytes);
    this.#reserve(bytes);
    // A loop over a table: for 8 and 16 bytes, quicker than Buffer's hex decoder behind a native call.
    const buf = this.#buf;
    for (let i = 0, p = this.pos; i < bytes; i++, p++) {
      buf[p] = ((HEX[value.charCodeAt(2 * i)] ?? 0) << 4) | (HEX[value.charCodeAt(2 * i + 1)] ?? 0);
    }
    this.pos += bytes;
  }

  /** An OpenTelemetry `[seconds, nanoseconds]` time as fixed64 nanoseconds since the epoch, exact past 2^53. */
  hrTime(time: readonly [number, number]): void {
    const [seconds, nanos] = time;
    // seconds × 1e9 overflows a double's integers, so: seconds = high × 2^16 + low16.
    const fromLow = (seconds & 0xffff) * 1e9;
    const fromHigh = Math.floor(seconds / 0x10000) * 1e9;
    const z = (fromHigh % 0x10000) * 0x10000 + fromLow + nanos;
    this.fixed64(z % 0x100000000, Math.floor(fromHigh / 0x10000) + Math.floor(z / 0x100000000));
  }

  /** Opens a nested message: returns where its length goes, for `end`. */
  begin(): number {
    this.#reserve(1);
    return this.pos++;
  }

  /** Closes the nested message `begin` opened at `at`, writing its length there. */
  end(at: number): void {
    const length = this.pos - at - 1;
    if (length < 0x80) {
      this.#buf[at] = length;
      return;
    }
    let size = 1;
    for (let v = length >>> 7; v > 0; v >>>= 7) size++;
    this.#reserve(size - 1);
    const buf = this.#buf;
    buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let v = length;
    let p = at;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
  }
}

/** An integer in [-2^63, 2^63) as the low and high 32 bits of its 64-bit two's complement. */
function split64(value: number): [number, number] {
  const abs = Math.abs(value);
  let low = abs >>> 0;
  let high = Math.floor(abs / 0x100000000) >>> 0;
  if (value < 0) {
    low = ~low >>> 0;
    high = ~high >>> 0;
    low = (low + 1) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
  }
  return [low, high];
}
