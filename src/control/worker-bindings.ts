/**
 * What each worker identity may serve, in the control KV as `workers.<worker id>`: one function, a
 * version of it (or `*`) and a model (or `*`). Written by whoever issues the worker's NATS identity
 * (`llmux credentials`, the local stack); watched by every router, which refuses a registration
 * outside it (router/worker-binding-check.ts). A worker's own identity cannot write the control KV,
 * so it cannot widen its binding.
 *
 * Unlike other watched records (kv-records.ts), a record that fails validation is not ignored: an
 * ignored update would leave the previous, perhaps wider, binding in force. It is kept as
 * `malformed`, and the router refuses the worker until the record is fixed.
 */
import { z } from 'zod';
import type { KvEntry, KvStore, Subscription } from '../transport/transport.js';
import { idSchema } from './function.schema.js';

/** Any version, or any model, of the bound function. */
export const anyValue = '*';

export const workerBindingSchema = z.object({
  functionId: idSchema,
  versionId: z.union([idSchema, z.literal(anyValue)]),
  model: z.string().min(1).max(256),
  /** When and by what it was written, for operators reading the record. */
  issuedAt: z.string().optional(),
  issuedBy: z.string().max(128).optional(),
}).strict();
export type WorkerBinding = z.infer<typeof workerBindingSchema>;

/** Worker ids that can have a binding: the key is `workers.<id>`, so the id must be a plain KV token. */
export const bindableWorkerId = idSchema;

/** A worker's binding as a router sees it: none, a valid record, or one that failed validation. */
export type BindingState =
  | { type: 'unbound' }
  | { type: 'bound'; binding: WorkerBinding }
  | { type: 'malformed'; error: string };

const prefix = 'workers.';

export class WorkerBindings {
  readonly #items = new Map<string, Exclude<BindingState, { type: 'unbound' }>>();
  readonly #subscriptions: Subscription[] = [];

  constructor(readonly kv: KvStore) {}

  /** Loads the current bindings and follows changes; resolves once the current ones are in. */
  async start(): Promise<void> {
    this.#subscriptions.push(await this.kv.watch(prefix, (entry) => this.#apply(entry)));
  }

  stop(): void {
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
  }

  #apply(entry: KvEntry): void {
    const workerId = entry.key.slice(prefix.length);
    if (entry.value === undefined) return void this.#items.delete(workerId);
    const parsed = workerBindingSchema.safeParse(entry.value);
    this.#items.set(workerId, parsed.success ? { type: 'bound', binding: parsed.data } : { type: 'malformed', error: parsed.error.message });
  }

  state(workerId: string): BindingState {
    return this.#items.get(workerId) ?? { type: 'unbound' };
  }

  get(workerId: string): WorkerBinding | undefined {
    const state = this.#items.get(workerId);
    return state?.type === 'bound' ? state.binding : undefined;
  }

  /** Stores a binding (visible here at once, in every router through its watch). */
  async put(workerId: string, binding: WorkerBinding): Promise<void> {
    bindableWorkerId.parse(workerId);
    const parsed = workerBindingSchema.parse(binding);
    await this.kv.put(`${prefix}${workerId}`, parsed);
    this.#items.set(workerId, { type: 'bound', binding: parsed });
  }

  async delete(workerId: string): Promise<void> {
    await this.kv.delete(`${prefix}${workerId}`);
    this.#items.delete(workerId);
  }
}
