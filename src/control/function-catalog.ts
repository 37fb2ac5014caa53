/**
 * The live view of functions and versions, kept from a watch on the control-plane KV bucket, so a
 * change applies in every gateway and router without a restart. Keys: `functions.<id>` and
 * `versions.<functionId>.<versionId>`.
 */
import type { z } from 'zod';
import type { KvEntry, KvStore, Subscription } from '../transport/transport.js';
import {
  type Deployment,
  type FunctionRecord,
  functionRecordSchema,
  type ModelSpec,
  type VersionRecord,
  versionRecordSchema,
} from './function.schema.js';

export const controlBucket = 'llmux_control';

const functionKey = (id: string): string => `functions.${id}`;
const versionKey = (functionId: string, versionId: string): string => `versions.${functionId}.${versionId}`;

export interface ResolvedModel {
  function: FunctionRecord;
  version: VersionRecord;
  model: ModelSpec;
}

export class FunctionCatalog {
  readonly #functions = new Map<string, FunctionRecord>();
  /** functionId → versionId → version */
  readonly #versions = new Map<string, Map<string, VersionRecord>>();
  readonly #subscriptions: Subscription[] = [];
  /** Entries that failed validation, by key (a bad record is ignored, never half-applied). */
  readonly rejected = new Map<string, string>();

  constructor(readonly kv: KvStore) {}

  /** Loads the current records and follows changes; resolves once the current records are in. */
  async start(): Promise<void> {
    this.#subscriptions.push(await this.kv.watch('functions.', (e) => this.#onFunction(e)));
    this.#subscriptions.push(await this.kv.watch('versions.', (e) => this.#onVersion(e)));
  }

  stop(): void {
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
  }

  #onFunction(entry: KvEntry): void {
    this.#apply(entry, functionRecordSchema, this.#functions, entry.key.slice('functions.'.length));
  }

  #onVersion(entry: KvEntry): void {
    const [, functionId, versionId] = entry.key.split('.');
    if (!functionId || !versionId) return;
    const versions = this.#versions.get(functionId) ?? new Map<string, VersionRecord>();
    this.#versions.set(functionId, versions);
    this.#apply(entry, versionRecordSchema, versions, versionId);
  }

  /** A deleted key leaves the map; a valid record replaces its entry; an invalid one is set aside. */
  #apply<T>(entry: KvEntry, schema: z.ZodType<T>, into: Map<string, T>, id: string): void {
    if (entry.value === undefined) {
      into.delete(id);
      return;
    }
    const parsed = schema.safeParse(entry.value);
    if (!parsed.success) {
      this.rejected.set(entry.key, parsed.error.message);
      return;
    }
    this.rejected.delete(entry.key);
    into.set(id, parsed.data);
  }

  getFunction(id: string): FunctionRecord | undefined {
    return this.#functions.get(id);
  }

  /**
   * The model of a function, from the newest version that lists it, among deployed versions when the
   * function has any (a function never deployed serves its newest version, as a fresh `llmux up` does).
   */
  resolve(functionId: string, modelName: string): ResolvedModel | undefined {
    const fn = this.#functions.get(functionId);
    if (!fn) return undefined;
    const versions = [...(this.#versions.get(functionId)?.values() ?? [])];
    const deployed = versions.filter((v) => v.deployment !== undefined);
    let best: ResolvedModel | undefined;
    for (const version of deployed.length > 0 ? deployed : versions) {
      const model = version.models.find((m) => m.name === modelName);
      if (model && (!best || version.createdAt > best.version.createdAt)) best = { function: fn, version, model };
    }
    return best;
  }

  /** Deployed versions of a function by id; undefined when none is deployed (then every version's workers serve). */
  deployments(functionId: string): ReadonlyMap<string, Deployment> | undefined {
    const out = new Map<string, Deployment>();
    for (const v of this.#versions.get(functionId)?.values() ?? []) if (v.deployment) out.set(v.versionId, v.deployment);
    return out.size > 0 ? out : undefined;
  }

  functions(): FunctionRecord[] {
    return [...this.#functions.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  versions(functionId: string): VersionRecord[] {
    return [...(this.#versions.get(functionId)?.values() ?? [])].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  getVersion(functionId: string, versionId: string): VersionRecord | undefined {
    return this.#versions.get(functionId)?.get(versionId);
  }

  async deleteVersion(functionId: string, versionId: string): Promise<void> {
    await this.kv.delete(versionKey(functionId, versionId));
    this.#versions.get(functionId)?.delete(versionId);
  }

  /** Deletes a function and all its versions. */
  async deleteFunction(id: string): Promise<void> {
    for (const v of this.versions(id)) await this.deleteVersion(id, v.versionId);
    await this.kv.delete(functionKey(id));
    this.#functions.delete(id);
  }

  /** Every (function, model) pair, for GET /v1/models. */
  models(): Array<{ functionId: string; model: string; createdAt: string }> {
    const out = new Map<string, { functionId: string; model: string; createdAt: string }>();
    for (const [functionId, versions] of this.#versions) {
      if (!this.#functions.has(functionId)) continue;
      for (const version of versions.values()) {
        for (const m of version.models) out.set(`${functionId}/${m.name}`, { functionId, model: m.name, createdAt: version.createdAt });
      }
    }
    return [...out.values()];
  }

  /** Stores a function (visible here at once, everywhere else through the watch). */
  async putFunction(record: FunctionRecord): Promise<void> {
    const parsed = functionRecordSchema.parse(record);
    await this.kv.put(functionKey(record.id), parsed);
    this.#functions.set(parsed.id, parsed);
  }

  async putVersion(record: VersionRecord): Promise<void> {
    const parsed = versionRecordSchema.parse(record);
    await this.kv.put(versionKey(record.functionId, record.versionId), parsed);
    const versions = this.#versions.get(parsed.functionId) ?? new Map<string, VersionRecord>();
    this.#versions.set(parsed.functionId, versions);
    versions.set(parsed.versionId, parsed);
  }
}
