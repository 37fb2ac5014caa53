/**
 * Whether a worker may serve what its registration says (issue 12): the function, version and model
 * in its descriptor must lie inside the binding stored for its id (control/worker-bindings.ts). A
 * worker without a binding is refused when bindings are required (a deployment whose workers have
 * their own NATS identities); otherwise there is no identity to bind and it is let in.
 */
import { assertNever } from '../../errors.js';
import { anyValue, type BindingState } from '../../control/worker-bindings.js';
import type { WorkerDescriptor } from './registry.protocol.js';

/** Why the registration is refused, or undefined when the binding allows it. */
export function bindingRefusal(worker: Pick<WorkerDescriptor, 'functionId' | 'versionId' | 'model'>, state: BindingState, required: boolean): string | undefined {
  switch (state.type) {
    case 'unbound':
      return required ? 'its identity has no binding (workers.<id> in the control plane); bind it with `llmux credentials --nats …`' : undefined;
    case 'malformed':
      return `its binding record is malformed (${state.error.slice(0, 200)})`;
    case 'bound': {
      const b = state.binding;
      if (worker.functionId !== b.functionId) return `it is bound to function '${b.functionId}', not '${worker.functionId}'`;
      if (b.versionId !== anyValue && worker.versionId !== b.versionId) return `it is bound to version '${b.versionId}' of '${b.functionId}', not '${worker.versionId}'`;
      if (b.model !== anyValue && worker.model !== b.model) return `it is bound to model '${b.model}', not '${worker.model}'`;
      return undefined;
    }
    default:
      return assertNever(state);
  }
}
