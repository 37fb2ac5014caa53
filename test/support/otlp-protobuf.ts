/**
 * Reads an OTLP `ExportTraceServiceRequest` in protobuf, for tests: a wire-format reader of its own
 * (sharing nothing with src/observability's encoder), and the fields of trace.proto a test asserts
 * on. Span ids come back as hex, as in OTLP/JSON.
 */

type Field = { no: number; wire: number; int?: bigint; bytes?: Buffer };

/** The fields of one message, in order. */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let p = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[p++];
      if (b === undefined) throw new Error('truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (p < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, int: varint() });
    else if (wire === 1) out.push({ no, wire, bytes: buf.subarray(p, (p += 8)) });
    else if (wire === 5) out.push({ no, wire, bytes: buf.subarray(p, (p += 4)) });
    else if (wire === 2) {
      const n = Number(varint());
      out.push({ no, wire, bytes: buf.subarray(p, (p += n)) });
    } else throw new Error(`wire type ${wire} at ${p}`);
    if (p > buf.length) throw new Error('truncated field');
  }
  return out;
}

const all = (fs: Field[], no: number): Buffer[] => fs.filter((f) => f.no === no && f.bytes).map((f) => f.bytes as Buffer);
const one = (fs: Field[], no: number): Buffer | undefined => all(fs, no)[0];

/** An AnyValue as a plain value: strings, booleans, int64 as numbers, doubles, arrays. */
function anyValue(buf: Buffer): unknown {
  const [f] = fields(buf);
  if (!f) return undefined;
  switch (f.no) {
    case 1: return f.bytes?.toString('utf8');
    case 2: return f.int === 1n;
    case 3: return Number(BigInt.asIntN(64, f.int ?? 0n));
    case 4: return f.bytes?.readDoubleLE(0);
    case 5: return all(fields(f.bytes as Buffer), 1).map(anyValue);
    default: return f.bytes;
  }
}

function attributes(kvs: Buffer[]): Record<string, unknown> {
  return Object.fromEntries(kvs.map((kv) => {
    const fs = fields(kv);
    return [one(fs, 1)?.toString('utf8') ?? '', anyValue(one(fs, 2) ?? Buffer.alloc(0))];
  }));
}

export interface DecodedSpan {
  service: unknown;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** trace.proto's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNanos: bigint;
  endNanos: bigint;
  attrs: Record<string, unknown>;
  statusCode: number;
}

export function decodeTraceRequest(body: Buffer): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (const rs of all(fields(body), 1)) {
    const rsf = fields(rs);
    const resource = attributes(all(fields(one(rsf, 1) ?? Buffer.alloc(0)), 1));
    for (const ss of all(rsf, 2)) {
      const ssf = fields(ss);
      const scope = one(fields(one(ssf, 1) ?? Buffer.alloc(0)), 1)?.toString('utf8') ?? '';
      for (const s of all(ssf, 2)) {
        const f = fields(s);
        const parent = one(f, 4);
        const status = fields(one(f, 15) ?? Buffer.alloc(0));
        out.push({
          service: resource['service.name'], scope,
          traceId: one(f, 1)?.toString('hex') ?? '', spanId: one(f, 2)?.toString('hex') ?? '',
          ...(parent ? { parentSpanId: parent.toString('hex') } : {}),
          name: one(f, 5)?.toString('utf8') ?? '', kind: Number(f.find((x) => x.no === 6)?.int ?? 0n),
          startNanos: one(f, 7)?.readBigUInt64LE(0) ?? 0n, endNanos: one(f, 8)?.readBigUInt64LE(0) ?? 0n,
          attrs: attributes(all(f, 9)), statusCode: Number(status.find((x) => x.no === 3)?.int ?? 0n),
        });
      }
    }
  }
  return out;
}
