// Which adapters say where their engine's KV events are: vllm and sglang (both APIs) with the
// kv-events setting, and no other engine, which refuses the setting.
import { describe, expect, it } from 'vitest';
import { createEngineAdapter } from './registry.js';

const baseUrl = 'http://127.0.0.1:9';

describe('engine adapters - KV event sources', () => {
  it('tells vllm, sglang and sglang-generate workers where the events are, only when configured', async () => {
    for (const kind of ['vllm', 'sglang', 'sglang-generate']) {
      const on = createEngineAdapter(kind, { baseUrl, settings: { 'kv-events': 'tcp://10.0.0.5:5557', 'kv-events-topic': 'kv-events', 'kv-events-block-size': '32' } });
      expect(on.kvEvents).toEqual({ endpoint: 'tcp://10.0.0.5:5557', topic: 'kv-events', format: 'vllm', blockSize: 32 });
      const off = createEngineAdapter(kind, { baseUrl });
      expect(off.kvEvents).toBeUndefined();
      await Promise.all([on.close(), off.close()]);
    }
  });

  it('refuses a malformed endpoint or block size, and the setting on engines that publish no events', () => {
    expect(() => createEngineAdapter('vllm', { baseUrl, settings: { 'kv-events': 'http://10.0.0.5:5557' } })).toThrow(/tcp:\/\/host:port/);
    expect(() => createEngineAdapter('vllm', { baseUrl, settings: { 'kv-events': 'tcp://h:1', 'kv-events-block-size': '0' } })).toThrow(/positive integer/);
    expect(() => createEngineAdapter('tgi', { baseUrl, settings: { 'kv-events': 'tcp://h:5557' } })).toThrow(/no setting 'kv-events'/);
  });
});
