import { describe, expect, it } from 'vitest';
import type { BindingState, WorkerBinding } from '../../control/worker-bindings.js';
import { workerDescriptor } from './router-test-support.js';
import { bindingRefusal } from './worker-binding-check.js';

const bound = (binding: Partial<WorkerBinding>): BindingState => ({ type: 'bound', binding: { functionId: 'fn', versionId: 'v1', model: 'm', ...binding } });
const worker = workerDescriptor('w1');

describe('worker binding check', () => {
  it('lets `*` stand for any version or any model, never for another function', () => {
    expect(bindingRefusal({ ...worker, versionId: 'v7', model: 'other' }, bound({ versionId: '*', model: '*' }), true)).toBeUndefined();
    expect(bindingRefusal({ ...worker, functionId: 'other-fn' }, bound({ versionId: '*', model: '*' }), true)).toMatch(/bound to function 'fn', not 'other-fn'/);
  });

  it('lets in exactly what a worker is bound to, and refuses another function, version or model, saying which', () => {
    expect(bindingRefusal(worker, bound({}), true)).toBeUndefined();
    expect(bindingRefusal({ ...worker, functionId: 'secret' }, bound({}), false)).toBe("it is bound to function 'fn', not 'secret'");
    expect(bindingRefusal({ ...worker, versionId: 'v2' }, bound({}), false)).toBe("it is bound to version 'v1' of 'fn', not 'v2'");
    expect(bindingRefusal({ ...worker, model: 'big' }, bound({}), false)).toBe("it is bound to model 'm', not 'big'");
  });

  it('refuses a worker without a binding only where bindings are required', () => {
    expect(bindingRefusal(worker, { type: 'unbound' }, true)).toMatch(/has no binding/);
    expect(bindingRefusal(worker, { type: 'unbound' }, false)).toBeUndefined();
  });

  it('refuses a worker whose binding record is malformed, even where bindings are not required', () => {
    expect(bindingRefusal(worker, { type: 'malformed', error: 'functionId: required' }, false)).toMatch(/malformed/);
  });
});
