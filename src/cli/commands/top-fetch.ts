/** `llmux top`'s data: one stats snapshot from the gateway's admin API, bounded in time and checked for shape. */
import type { StatsSnapshot } from '../../admin-api/stats-snapshot.js';
import { isObject } from '../../protocol/guards.js';
import { AdminClient, type AdminFlags } from '../admin/admin-client.js';

/** A gateway that has not answered in this long counts as unreachable for this refresh. */
const timeoutMs = 5_000;

export class StatsSource {
  readonly #client: AdminClient;

  constructor(flags: AdminFlags, private readonly usageWindowSeconds: number) {
    this.#client = new AdminClient(flags);
  }

  get url(): string {
    return this.#client.url;
  }

  async fetch(): Promise<StatsSnapshot> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`llmux at ${this.url} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const body = await Promise.race([this.#client.call('GET', `/admin/api/stats?usage_window_s=${this.usageWindowSeconds}`), late]);
      if (!isSnapshot(body)) throw new Error(`llmux at ${this.url} answered /admin/api/stats with something that is not a stats snapshot (an older gateway?)`);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }
}

function isSnapshot(body: unknown): body is StatsSnapshot {
  return isObject(body) && typeof body.at === 'number' && Array.isArray(body.routers) && Array.isArray(body.workers) && Array.isArray(body.models)
    && Array.isArray(body.errors) && Array.isArray(body.rateLimited) && isObject(body.usage) && Array.isArray(body.usage.tenants) && Array.isArray(body.usage.errorCodes);
}
