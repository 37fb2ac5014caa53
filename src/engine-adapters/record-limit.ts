/**
 * The longest record (an SSE event's data, an NDJSON line) the parsers hold while it arrives. An
 * engine that never ends a line would otherwise grow a worker's memory without bound. 4 Mi UTF-16
 * units is far above any token chunk, logprobs included.
 */
export const maxRecordChars = 4 * 1024 * 1024;

export class RecordTooLong extends Error {
  constructor(readonly limit: number) {
    super(`a stream record longer than ${limit} characters`);
    this.name = 'RecordTooLong';
  }
}
