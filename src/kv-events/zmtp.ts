/**
 * ZMTP 3.0, the ZeroMQ wire protocol (rfc.zeromq.org/spec/23), as much of it as a PUB/SUB pair with
 * the NULL mechanism needs: the 64-byte greeting, the READY command with its Socket-Type property,
 * and frames (short or long, MORE and COMMAND flags). vLLM's and SGLang's KV event publishers are
 * pyzmq PUB sockets with no security, so this is all it takes to hear them (docs/decisions/0003).
 *
 * The parser is incremental and bounded: a peer that announces a frame larger than `maxFrameBytes`
 * or sends a malformed greeting is a ZmtpError, and the connection is dropped by the caller.
 */

export class ZmtpError extends Error {
  override readonly name = 'ZmtpError';
  readonly code = 'zmtp_protocol';
}

export type ZmqSocketType = 'PUB' | 'SUB' | 'XPUB' | 'XSUB' | 'ROUTER' | 'DEALER';

const GREETING_BYTES = 64;
const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;

/**
 * Our greeting: signature, version 3.0 and mechanism NULL. We announce 3.0, not 3.1, so a libzmq
 * peer sends subscriptions as messages (first byte 1 or 0) rather than SUBSCRIBE commands; as a
 * publisher we accept both anyway.
 */
export function greeting(): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff;
  g[8] = 0x01; // the padding ends in 1, as libzmq sends it (a ZMTP 1.0 length byte)
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 0;
  g.write('NULL', 12, 'ascii');
  return g;
}

function frame(flags: number, body: Buffer): Buffer {
  if (body.length <= 255) return Buffer.concat([Buffer.from([flags, body.length]), body]);
  const head = Buffer.alloc(9);
  head[0] = flags | FLAG_LONG;
  head.writeBigUInt64BE(BigInt(body.length), 1);
  return Buffer.concat([head, body]);
}

/** A command frame: name-length, name, then the body. */
export function command(name: string, body: Buffer = Buffer.alloc(0)): Buffer {
  return frame(FLAG_COMMAND, Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'ascii'), body]));
}

/** READY with its metadata: `Socket-Type` is the one property peers check. */
export function ready(socketType: ZmqSocketType): Buffer {
  const name = Buffer.from('Socket-Type', 'ascii');
  const value = Buffer.from(socketType, 'ascii');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  return command('READY', Buffer.concat([Buffer.from([name.length]), name, len, value]));
}

/** One multipart message: every part but the last carries MORE. */
export function message(parts: readonly Uint8Array[]): Buffer {
  const list = parts.length > 0 ? parts : [new Uint8Array(0)];
  return Buffer.concat(list.map((part, i) => frame(i < list.length - 1 ? FLAG_MORE : 0, Buffer.from(part.buffer, part.byteOffset, part.byteLength))));
}

/** What arrives on a connection once its greeting is through. */
export type ZmtpInbound =
  | { type: 'command'; name: string; body: Buffer }
  | { type: 'message'; parts: Buffer[] };

/** The properties of a READY command body (name → value). */
export function readyProperties(body: Buffer): Map<string, string> {
  const props = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    const nameLength = body[at] as number;
    if (at + 1 + nameLength + 4 > body.length) throw new ZmtpError('truncated READY property');
    const name = body.toString('ascii', at + 1, at + 1 + nameLength);
    const valueLength = body.readUInt32BE(at + 1 + nameLength);
    const valueAt = at + 1 + nameLength + 4;
    if (valueAt + valueLength > body.length) throw new ZmtpError('truncated READY property value');
    props.set(name.toLowerCase(), body.toString('latin1', valueAt, valueAt + valueLength));
    at = valueAt + valueLength;
  }
  return props;
}

/**
 * Reads a peer's byte stream: first its greeting (checked: signature, major version 3, mechanism
 * NULL), then frames, joined into commands and multipart messages. Bounded: no frame, and no
 * message, may exceed `maxMessageBytes`.
 */
export class ZmtpReader {
  #buffer: Buffer = Buffer.alloc(0);
  #greeted = false;
  #parts: Buffer[] = [];
  #partsBytes = 0;

  constructor(readonly maxMessageBytes: number) {}

  /** Feeds bytes; returns whatever they completed. Throws ZmtpError on a protocol violation. */
  push(chunk: Buffer): ZmtpInbound[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: ZmtpInbound[] = [];
    if (!this.#greeted) {
      if (this.#buffer.length >= 1 && this.#buffer[0] !== 0xff) throw new ZmtpError('not a ZMTP peer (bad signature)');
      if (this.#buffer.length < GREETING_BYTES) return out;
      const g = this.#buffer.subarray(0, GREETING_BYTES);
      if (g[9] !== 0x7f) throw new ZmtpError('not a ZMTP peer (bad signature)');
      if ((g[10] as number) < 3) throw new ZmtpError(`ZMTP version ${g[10]} is not supported (3.x is)`);
      const mechanism = g.toString('ascii', 12, 32).replace(/\0+$/, '');
      if (mechanism !== 'NULL') throw new ZmtpError(`security mechanism ${mechanism} is not supported (NULL is)`);
      this.#greeted = true;
      this.#buffer = this.#buffer.subarray(GREETING_BYTES);
    }
    for (;;) {
      if (this.#buffer.length < 2) return out;
      const flags = this.#buffer[0] as number;
      if (flags & ~(FLAG_MORE | FLAG_LONG | FLAG_COMMAND)) throw new ZmtpError(`bad frame flags 0x${flags.toString(16)}`);
      let size: number;
      let headBytes: number;
      if (flags & FLAG_LONG) {
        if (this.#buffer.length < 9) return out;
        const big = this.#buffer.readBigUInt64BE(1);
        if (big > BigInt(this.maxMessageBytes)) throw new ZmtpError(`frame of ${big} bytes is over the ${this.maxMessageBytes}-byte limit`);
        size = Number(big);
        headBytes = 9;
      } else {
        size = this.#buffer[1] as number;
        headBytes = 2;
      }
      if (size > this.maxMessageBytes || this.#partsBytes + size > this.maxMessageBytes) throw new ZmtpError(`message over the ${this.maxMessageBytes}-byte limit`);
      if (this.#buffer.length < headBytes + size) return out;
      const body = Buffer.from(this.#buffer.subarray(headBytes, headBytes + size)); // a copy: the buffer is reused
      this.#buffer = this.#buffer.subarray(headBytes + size);
      if (flags & FLAG_COMMAND) {
        if (flags & FLAG_MORE) throw new ZmtpError('a command frame cannot have MORE');
        const nameLength = body[0] ?? 0;
        if (body.length < 1 + nameLength) throw new ZmtpError('truncated command name');
        out.push({ type: 'command', name: body.toString('ascii', 1, 1 + nameLength), body: body.subarray(1 + nameLength) });
        continue;
      }
      this.#parts.push(body);
      this.#partsBytes += size;
      if (!(flags & FLAG_MORE)) {
        out.push({ type: 'message', parts: this.#parts });
        this.#parts = [];
        this.#partsBytes = 0;
      }
    }
  }
}
