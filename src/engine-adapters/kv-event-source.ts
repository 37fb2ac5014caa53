/**
 * Where an engine publishes its KV cache events, for the engines that do: vLLM
 * (`--kv-events-config '{"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://*:5557","topic":"kv-events"}'`)
 * and SGLang (`--kv-events-config` with the same ZMQ publisher and vLLM's payload). The engine binds a
 * ZeroMQ PUB socket; the worker is told where it is with engine settings, and relays what it hears
 * (src/actors/worker/kv-event-relay.ts). An engine without these settings publishes nothing, and
 * routers fall back to their approximate index.
 *
 *   --engine-option kv-events=tcp://127.0.0.1:5557     the engine's PUB socket (a host the worker reaches)
 *   --engine-option kv-events-topic=kv-events          the topic prefix (default: every topic)
 *   --engine-option kv-events-block-size=16            tokens per block, used until a BlockStored says
 *   --engine-option kv-events-replay=tcp://127.0.0.1:5558  the engine's replay socket, if it has one
 */

export interface KvEventSource {
  /** `tcp://host:port`. */
  endpoint: string;
  /** Topic prefix subscribed to; '' hears every topic. */
  topic: string;
  /** The payload: vLLM's msgpack `KVEventBatch` (SGLang sends the same). */
  format: 'vllm';
  /** Tokens per block until the engine's own BlockStored events say. */
  blockSize?: number;
  /** The engine's replay socket (vLLM's `replay_endpoint`, a ROUTER), asked for lost batches before giving up on them. */
  replayEndpoint?: string;
}

/** The engine settings an adapter of an engine that publishes KV events accepts. */
export const kvEventSettings = ['kv-events', 'kv-events-topic', 'kv-events-block-size', 'kv-events-replay'] as const;

const tcpEndpoint = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/;

/** The source the settings describe; undefined when `kv-events` is not set. Throws on a malformed setting. */
export function kvEventSource(kind: string, settings: Readonly<Record<string, string>> | undefined): KvEventSource | undefined {
  const endpoint = settings?.['kv-events'];
  if (endpoint === undefined) return undefined;
  if (!tcpEndpoint.test(endpoint)) {
    throw new Error(`the ${kind} engine's kv-events setting must be tcp://host:port (the engine's ZMQ publisher), got ${JSON.stringify(endpoint)}`);
  }
  const size = settings?.['kv-events-block-size'];
  const blockSize = size === undefined ? undefined : Number(size);
  if (blockSize !== undefined && !(Number.isInteger(blockSize) && blockSize > 0)) throw new Error(`kv-events-block-size must be a positive integer, got ${JSON.stringify(size)}`);
  const replayEndpoint = settings?.['kv-events-replay'];
  if (replayEndpoint !== undefined && !tcpEndpoint.test(replayEndpoint)) throw new Error(`kv-events-replay must be tcp://host:port (the engine's replay socket), got ${JSON.stringify(replayEndpoint)}`);
  return {
    endpoint, topic: settings?.['kv-events-topic'] ?? '', format: 'vllm',
    ...(blockSize !== undefined ? { blockSize } : {}), ...(replayEndpoint !== undefined ? { replayEndpoint } : {}),
  };
}
