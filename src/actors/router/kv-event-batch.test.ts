import { describe, expect, it } from 'vitest';
import { kvBatchBounds, parseKvEventBatch } from './kv-event-batch.js';

const valid = {
  type: 'kv-events', workerId: 'w', model: 'm', blockSize: 4, seq: 3, ts: 1.5,
  events: [{ type: 'stored', blocks: ['1', '2'], parent: '0', tokens: [1, 2, 3, 4, 5, 6, 7, 8] }, { type: 'removed', blocks: ['9'] }, { type: 'cleared' }],
};

describe('KV event batch from NATS', () => {
  it('takes a well-formed batch as it is', () => {
    expect(parseKvEventBatch(valid)).toEqual(valid);
  });

  it.each([
    ['not an object', 'kv-events'],
    ['another type', { ...valid, type: 'routed' }],
    ['no worker id', { ...valid, workerId: 7 }],
    ['a block size of 0', { ...valid, blockSize: 0 }],
    ['a fractional block size', { ...valid, blockSize: 1.5 }],
    ['a block size over the bound', { ...valid, blockSize: kvBatchBounds.blockSize + 1 }],
    ['a negative seq', { ...valid, seq: -1 }],
    ['a fractional seq', { ...valid, seq: 1.5 }],
    ['a ts that is not a number', { ...valid, ts: '1' }],
    ['events not a list', { ...valid, events: {} }],
    ['too many events', { ...valid, events: Array.from({ length: kvBatchBounds.events + 1 }, () => ({ type: 'cleared' })) }],
    ['an unknown event', { ...valid, events: [{ type: 'evicted', blocks: [] }] }],
    ['a block hash that is not a string', { ...valid, events: [{ type: 'removed', blocks: [1] }] }],
    ['an empty block hash', { ...valid, events: [{ type: 'removed', blocks: [''] }] }],
    ['a block hash over the bound', { ...valid, events: [{ type: 'removed', blocks: ['x'.repeat(kvBatchBounds.hashChars + 1)] }] }],
    ['too many blocks', { ...valid, events: [{ type: 'removed', blocks: Array.from({ length: kvBatchBounds.blocksPerEvent + 1 }, (_, i) => `${i}`) }] }],
    ['a token that is not an integer', { ...valid, events: [{ type: 'stored', blocks: ['1'], tokens: [1, 2, 3, 0.5] }] }],
    ['no tokens', { ...valid, events: [{ type: 'stored', blocks: ['1'] }] }],
  ])('refuses %s', (_, body) => {
    expect(parseKvEventBatch(body)).toBeUndefined();
  });
});
