/**
 * The live backends and routes, watched from the control KV (`backends.<name>`, `routes.<name>`),
 * and the choice of backends for a request: the route matching its model and path, the backends it
 * may use (only the one it selects by `owned_by`, when it selects one), the first by weight and the
 * rest in declared order as fallbacks.
 */
import type { KvStore, Subscription } from '../transport/transport.js';
import { KvRecords } from './kv-records.js';
import { type Backend, backendSchema, type Route, routeSchema } from './route.schema.js';

export interface RoutePlan {
  route: Route;
  /** Backends to try, in order. */
  backends: Backend[];
}

export class RouteTable {
  readonly backends: KvRecords<Backend>;
  readonly routes: KvRecords<Route>;
  readonly #subscriptions: Subscription[] = [];

  constructor(readonly kv: KvStore) {
    this.backends = new KvRecords(kv, 'backends.', backendSchema);
    this.routes = new KvRecords(kv, 'routes.', routeSchema);
  }

  async start(): Promise<void> {
    this.#subscriptions.push(await this.backends.watch(), await this.routes.watch());
  }

  stop(): void {
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
  }

  putBackend(backend: Backend): Promise<void> {
    return this.backends.put(backend.name, backend);
  }

  deleteBackend(name: string): Promise<void> {
    return this.backends.delete(name);
  }

  putRoute(route: Route): Promise<void> {
    return this.routes.put(route.name, route);
  }

  deleteRoute(name: string): Promise<void> {
    return this.routes.delete(name);
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
