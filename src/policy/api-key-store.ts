/**
 * API keys and tenants in the control-plane KV bucket, watched so every gateway sees a new or
 * revoked key at once. A key is stored only as the SHA-256 of its secret (`apikeys.<hex>`); the
 * secret is shown once, when the key is created, and never logged. Tenants (`tenants.<id>`) carry
 * tenant-wide limits.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { idSchema } from '../control/function.schema.js';
import { KvRecords } from '../control/kv-records.js';
import type { KvStore, Subscription } from '../transport/transport.js';
import { limitSpecSchema, requestLimitSpecSchema } from './limit-spec.js';

export const apiKeyRecordSchema = z.object({
  keyId: z.string().regex(/^key_[a-f0-9]{16}$/),
  tenant: idSchema,
  /** Function ids the key may use; `*` for all. */
  functions: z.array(z.union([idSchema, z.literal('*')])).min(1),
  name: z.string().max(128).optional(),
  tokenRateLimit: limitSpecSchema.optional(),
  requestRateLimit: requestLimitSpecSchema.optional(),
  /** May ask for debug headers (`x-llmux-debug: 1`: worker ids, backends, routes). */
  debug: z.boolean().optional(),
  createdAt: z.string(),
}).strict();
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

export const tenantRecordSchema = z.object({
  tenant: idSchema,
  tokenRateLimit: limitSpecSchema.optional(),
  requestRateLimit: requestLimitSpecSchema.optional(),
}).strict();
export type TenantRecord = z.infer<typeof tenantRecordSchema>;

/** Every stored key's secret starts so: a bearer in this shape that matches no key is unknown or revoked, never `anonymous`. */
export const storedKeyPrefix = 'sk-llmux-';
export const isStoredKeySecret = (credential: string): boolean => credential.startsWith(storedKeyPrefix);

export const sha256Hex = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

export class ApiKeyStore {
  /** By the SHA-256 (hex) of the secret. */
  readonly #keys: KvRecords<ApiKeyRecord>;
  readonly #tenants: KvRecords<TenantRecord>;
  readonly #subscriptions: Subscription[] = [];

  constructor(readonly kv: KvStore) {
    this.#keys = new KvRecords(kv, 'apikeys.', apiKeyRecordSchema);
    this.#tenants = new KvRecords(kv, 'tenants.', tenantRecordSchema);
  }

  async start(): Promise<void> {
    this.#subscriptions.push(await this.#keys.watch(), await this.#tenants.watch());
  }

  stop(): void {
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
  }

  lookup(secret: string): ApiKeyRecord | undefined {
    return this.#keys.get(sha256Hex(secret));
  }

  tenant(id: string): TenantRecord | undefined {
    return this.#tenants.get(id);
  }

  list(): ApiKeyRecord[] {
    return [...this.#keys.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Creates a key; the only time its secret exists outside the client. */
  async create(fields: Omit<ApiKeyRecord, 'keyId' | 'createdAt'>): Promise<{ secret: string; record: ApiKeyRecord }> {
    const secret = `${storedKeyPrefix}${randomBytes(24).toString('base64url')}`;
    const record = apiKeyRecordSchema.parse({ ...fields, keyId: `key_${randomBytes(8).toString('hex')}`, createdAt: new Date().toISOString() });
    await this.#keys.put(sha256Hex(secret), record);
    return { secret, record };
  }

  /** Revokes a key by id; false when there is no such key. */
  async revoke(keyId: string): Promise<boolean> {
    const hash = [...this.#keys.entries()].find(([, r]) => r.keyId === keyId)?.[0];
    if (!hash) return false;
    await this.#keys.delete(hash);
    return true;
  }

  async putTenant(record: TenantRecord): Promise<void> {
    const parsed = tenantRecordSchema.parse(record);
    await this.#tenants.put(parsed.tenant, parsed);
  }
}
