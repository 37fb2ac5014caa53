// The worker's own count of what an engine generated: tool calls count as their names and argument
// text (what the model produced), per choice, across interleaved parallel calls; ids and types do not.
import { describe, expect, it } from 'vitest';
import { OutputText } from './output-text.js';

describe('output text - what the worker counts completion tokens from', () => {
  it('joins text, reasoning and tool-call names and arguments per choice, leaving out ids and types', () => {
    const out = new OutputText();
    out.add({ index: 0, role: 'assistant' });
    out.add({ index: 0, reasoning: 'think ' });
    out.add({ index: 0, toolCalls: [{ index: 0, id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '' } }] });
    out.add({ index: 0, toolCalls: [{ index: 1, id: 'call_t', type: 'function', function: { name: 'get_time' } }, { index: 0, function: { arguments: '{"city":' } }] });
    out.add({ index: 0, toolCalls: [{ index: 1, function: { arguments: '{}' } }] });
    out.add({ index: 0, toolCalls: [{ index: 0, function: { arguments: '"Paris"}' } }] });
    out.add({ index: 0, finishReason: 'tool_calls' });
    expect(out.texts()).toEqual(['think get_weatherget_time{"city":{}"Paris"}']);
    expect(out.deltas).toBe(5);
  });

  it('counts nothing for a delta of ids alone', () => {
    const out = new OutputText();
    out.add({ index: 0, toolCalls: [{ index: 0, id: 'call_w', type: 'function' }] });
    expect(out.texts()).toEqual([]);
    expect(out.deltas).toBe(0);
  });
});
