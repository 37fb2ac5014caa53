import { describe, expect, it } from 'vitest';
import { parseReplyFrame } from '../actors/gateway/reply.protocol.js';
import { choiceIndexOf, countOf, isDelta, toolCallDeltasOf, usageFrom } from './engine-values.js';

describe('engine values', () => {
  it('counts are non-negative safe integers, nothing else', () => {
    expect([0, 7, 2 ** 53 - 1].map(countOf)).toEqual([0, 7, 2 ** 53 - 1]);
    expect([-1, 1.5, 2 ** 53, Infinity, NaN, '3', null, {}].map(countOf)).toEqual(Array(8).fill(undefined));
    expect(usageFrom({ promptTokens: 3, completionTokens: -0.5, cachedTokens: '1' })).toEqual({ promptTokens: 3 });
  });

  it('a choice index is 0 when absent, and a bounded count otherwise', () => {
    expect([undefined, null, 0, 3, 127].map(choiceIndexOf)).toEqual([0, 0, 0, 3, 127]);
    expect([-1, 0.5, 128, '1', []].map(choiceIndexOf)).toEqual(Array(5).fill(undefined));
  });

  it('tool-call deltas keep well-formed entries and string fields only', () => {
    expect(toolCallDeltasOf([null, '', 3, [], { index: -1 }])).toBeUndefined();
    expect(toolCallDeltasOf('calls')).toBeUndefined();
    expect(toolCallDeltasOf([{ id: 'c1', type: 'function', function: { name: 'f', arguments: 7 } }, { index: 2, function: 'x', id: {} }]))
      .toEqual([{ index: 0, id: 'c1', type: 'function', function: { name: 'f' } }, { index: 2 }]);
  });

  it('deltas from a worker are checked field by field at the gateway', () => {
    const chunk = (deltas: unknown[]): unknown => parseReplyFrame({ type: 'chunk', seq: 0, deltas });
    expect(chunk([{ index: 0, text: 'hi' }, { index: 1, toolCalls: [{ index: 0, function: { name: 'f' } }] }])).toBeDefined();
    for (const bad of [{ index: -1, text: 'x' }, { index: 0, text: { toString: 1 } }, { index: 0, toolCalls: [null] },
      { index: 0, toolCalls: [{ index: 0, function: { arguments: 1 } }] }, { index: 0, finishReason: 5 }, null, 'x']) {
      expect(chunk([{ index: 0, text: 'ok' }, bad]), JSON.stringify(bad)).toBeUndefined();
    }
  });
});
