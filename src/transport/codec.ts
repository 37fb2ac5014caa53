/**
 * Frame codec: msgpack through msgpackr, plain (no record extension), so any process and any
 * msgpack implementation can read a frame without shared structure state.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode(bytes: Uint8Array): unknown {
  return bytes.length === 0 ? undefined : packr.unpack(bytes);
}
