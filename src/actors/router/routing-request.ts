/** What a routing method needs to know about a request, and what it may keep between requests. */
import type { Deployment, RoutingMethod, RoutingOptions } from '../../control/function.schema.js';
import type { EngineCapability } from '../../engine-adapters/adapter.js';
import type { FleetColumns } from './fleet-columns.js';
import type { HashRing } from './methods/hash-ring.js';
import { KvIndexes } from './kv-indexes.js';
import { PrefixIndex } from './prefix-index.js';
import type { WorkerEntry } from './worker-table.js';

export interface RoutingRequest {
  requestId: string;
  functionId: string;
  model: string;
  /** Workers that already failed this request. */
  exclude: readonly string[];
  /** The session-affinity key (prompt_cache_key, x-session-id, or a hash of the leading messages). */
  key?: string;
  /** Chained hashes of the prompt's blocks (hash.ts), for the prefix-aware and kv-aware methods. */
  blocks?: readonly number[];
  /** Chained hashes of the prompt's token-id blocks (token-blocks.ts), `blockSize` tokens each, matched against engines' KV events. */
  tokenBlocks?: readonly number[];
  blockSize?: number;
  /** The prompt's tokens, as the gateway counted them. */
  promptTokens?: number;
  /** What the request asks of an engine (embeddings: `embed`); absent: `generate`. */
  needs?: EngineCapability;
  /** Prompt tokens plus the most the completion may take: what usage-based routing adds to a worker. */
  tokens: number;
  /** The function's deployed versions, when it has any: only their workers (matching cluster and labels) serve. */
  deployments?: ReadonlyMap<string, Deployment>;
}

export interface RoutingState {
  /** Round-robin position per function/model. */
  cursors: Map<string, number>;
  /** What each worker recently served, as prefix blocks (approximate: this router's view plus its peers'). */
  prefixes: PrefixIndex;
  /** What each engine holds, from its own KV events, per model (kv-block-index.ts). */
  kv: KvIndexes;
  /** Blocks per request (prompt plus completion budget), a moving mean per model: the cost model's unit of decode load. */
  requestBlocks: Map<string, number>;
  /** Hash rings by the worker set they were built for (consistent hashing). */
  rings: Map<string, HashRing>;
  random: () => number;
}

export function newRoutingState(random: () => number = Math.random): RoutingState {
  return { cursors: new Map(), prefixes: new PrefixIndex(), kv: new KvIndexes(), requestBlocks: new Map(), rings: new Map(), random };
}

export interface MethodContext {
  request: RoutingRequest;
  /** Every worker serving the model, eligible or not (the membership of a hash ring). */
  readonly serving: readonly WorkerEntry[];
  options: RoutingOptions;
  state: RoutingState;
  /**
   * The function's workers as columns, and where candidate k sits in them (`slots[k]`), and the
   * reverse (`candidateAt[slot]`, -1 for a worker that is not a candidate): a method scoring a
   * thousand candidates reads these rather than three objects per candidate. Valid during the call.
   */
  fleet: FleetColumns;
  slots: Int32Array;
  candidateAt: Int32Array;
}

/** A method's choice: one of the candidates, with the score it gave each (lower is better) where it scores. */
export interface Pick {
  winner: WorkerEntry;
  /** Aligned with the candidates; undefined where the method did not score a worker. Read before the next decision: it may be scratch (min-score.ts). */
  scores?: ArrayLike<number | undefined>;
  /** Prefix methods: the share of the prompt each candidate was expected to hold, and which index said so. */
  cached?: ArrayLike<number>;
  index?: PrefixIndexKind;
}

/** `kv-events`: at least one candidate was matched on its engine's own KV events; `approximate`: on where requests were sent. */
export type PrefixIndexKind = 'kv-events' | 'approximate';

/** A routing method: chooses among eligible candidates (never outside them), undefined only when there are none. */
export type RoutingMethodFn = (candidates: readonly WorkerEntry[], ctx: MethodContext) => Pick | undefined;

export type { RoutingMethod };
