import { describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../transport/memory/memory-transport.js';
import { controlBucket } from './function-catalog.js';
import { WorkerBindings } from './worker-bindings.js';

async function twoViews() {
  const bus = new MemoryBus();
  const writer = new WorkerBindings(await bus.connect('issuer').keyValue(controlBucket));
  const router = new WorkerBindings(await bus.connect('router').keyValue(controlBucket));
  await writer.start();
  await router.start();
  return { writer, router, stop: () => { writer.stop(); router.stop(); } };
}

describe('worker bindings', () => {
  it('shows a binding written elsewhere, its change and its removal', async () => {
    const { writer, router, stop } = await twoViews();
    expect(router.state('w1')).toEqual({ type: 'unbound' });
    await writer.put('w1', { functionId: 'fn', versionId: '*', model: 'm' });
    await vi.waitFor(() => expect(router.get('w1')).toEqual({ functionId: 'fn', versionId: '*', model: 'm' }));
    await writer.put('w1', { functionId: 'fn', versionId: 'v2', model: '*' });
    await vi.waitFor(() => expect(router.get('w1')?.versionId).toBe('v2'));
    await writer.delete('w1');
    await vi.waitFor(() => expect(router.state('w1')).toEqual({ type: 'unbound' }));
    stop();
  });

  it('keeps a record that fails validation as malformed, never the older binding it replaced', async () => {
    const { writer, router, stop } = await twoViews();
    await writer.put('w1', { functionId: 'fn', versionId: '*', model: '*' });
    await vi.waitFor(() => expect(router.get('w1')).toBeDefined());
    await writer.kv.put('workers.w1', { functionId: 'fn', model: '*', extra: true });
    await vi.waitFor(() => expect(router.state('w1').type).toBe('malformed'));
    expect(router.get('w1')).toBeUndefined();
    stop();
  });

  it('refuses to store a binding for an id that is not a plain KV token, or a bad record', async () => {
    const { writer, stop } = await twoViews();
    await expect(writer.put('gpu.1', { functionId: 'fn', versionId: '*', model: '*' })).rejects.toThrow();
    await expect(writer.put('w1', { functionId: 'fn', versionId: 'v1.0', model: '*' })).rejects.toThrow();
    stop();
  });
});
