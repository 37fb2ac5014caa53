/**
 * The live backends and routes, watched from the control KV (`backends.<name>`, `routes.<name>`),
 * and the choice of backends for a request: the route matching its model and path, the backends it
 * may use (only the one it selects by `owned_by`, when it selects one), the first by weight and the
 * rest in declared order as fallbacks.
 */
import type { z } from 'zod';
import type { KvEntry, KvStore, Subscription } from '../../transport/transport.js';
import { type Backend, backendSchema, type Route, routeSchema } from './route.schema.js';

export interface RoutePlan {
  route: Route;
  /** Backends to try, in order. */
  backends: Backend[];
}

export class RouteTable {
  readonly backends = new Map<string, Backend>();
  readonly routes = new Map<string, Route>();
  readonly #subscriptions: Subscription[] = [];

  constructor(readonly kv: KvStore) {}

  async start(): Promise<void> {
    this.#subscriptions.push(await this.kv.watch('backends.', (e) => this.#apply(e, 'backends.', backendSchema, this.backends)));
    this.#subscriptions.push(await this.kv.watch('routes.', (e) => this.#apply(e, 'routes.', routeSchema, this.routes)));
  }

  stop(): void {
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
  }

  #apply<T>(entry: KvEntry, prefix: string, schema: z.ZodType<T>, into: Map<string, T>): void {
    const name = entry.key.slice(prefix.length);
    if (entry.value === undefined) return void into.delete(name);
    const parsed = schema.safeParse(entry.value);
    if (parsed.success) into.set(name, parsed.data);
  }

  async putBackend(backend: Backend): Promise<void> {
    await this.kv.put(`backends.${backend.name}`, backend);
    this.backends.set(backend.name, backend);
  }

  async deleteBackend(name: string): Promise<void> {
    await this.kv.delete(`backends.${name}`);
    this.backends.delete(name);
  }

  async putRoute(route: Route): Promise<void> {
    await this.kv.put(`routes.${route.name}`, route);
    this.routes.set(route.name, route);
  }

  async deleteRoute(name: string): Promise<void> {
    await this.kv.delete(`routes.${name}`);
    this.routes.delete(name);
  }

  /** The route for a client model and path, if any (the first by name when several match). */
  match(model: string, path: string): Route | undefined {
    return [...this.routes.values()].sort((a, b) => a.name.localeCompare(b.name))
      .find((r) => r.match.models.includes(model) && (!r.match.paths || r.match.paths.includes(path as never)));
  }

  /** The backends to try for a request on `route`; `undefined` when it selects an `owned_by` the route does not have. */
  plan(route: Route, ownedBy: string | undefined, random: () => number = Math.random): RoutePlan | undefined {
    const entries = route.backends.filter((b) => ownedBy === undefined || b.ownedBy === ownedBy || b.backend === ownedBy);
    if (entries.length === 0) return undefined;
    const total = entries.reduce((s, b) => s + b.weight, 0);
    let first = 0;
    if (total > 0) {
      let point = random() * total;
      first = entries.findIndex((b) => (point -= b.weight) < 0);
      if (first < 0) first = entries.length - 1;
    }
    const ordered = [entries[first], ...entries.filter((_, i) => i !== first)];
    return { route, backends: ordered.map((e) => this.backends.get(e?.backend ?? '')).filter((b): b is Backend => b !== undefined) };
  }
}
