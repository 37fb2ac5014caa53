/** llmux's public API: types and factories only. */
export { startGateway, type Gateway, type GatewayOptions } from './actors/gateway/gateway.js';
export { startRouter, type Router, type RouterOptions } from './actors/router/router.js';
export { startWorker, type Worker, type WorkerOptions } from './actors/worker/worker.js';
export { FunctionCatalog, controlBucket } from './control/function-catalog.js';
export type { FunctionRecord, VersionRecord, ModelSpec, LlmConfig, RoutingMethod } from './control/function.schema.js';
export { spawn, type ActorRef, type ActorStats, type Behavior, type BehaviorFactory, type Failure } from './actors/runtime/actor.js';
export { restartOnFailure, restartWithBackoff, resumeOnFailure, stopOnFailure, type Supervision } from './actors/runtime/supervision.js';
export { Overflow, type MailboxOptions } from './actors/runtime/mailbox.js';
export type { Transport, KvStore, Inbound, MessageHeaders } from './transport/transport.js';
export { connectNats, type NatsTransportOptions } from './transport/nats/nats-transport.js';
export { startNatsServer, type NatsServerHandle } from './transport/nats/nats-server-process.js';
export { MemoryBus } from './transport/memory/memory-transport.js';
export type { EngineAdapter, EngineRequest, EngineEvent, Delta, Usage } from './engine-adapters/adapter.js';
export { createEngineAdapter, engineKinds } from './engine-adapters/registry.js';
export { startSim, type SimOptions, type SimServer } from './sim/sim-server.js';
export { startLocalStack, type LocalStack, type LocalStackOptions } from './launch/local-stack.js';
export { ErrorCode, LlmuxError, type ErrorInfo } from './errors.js';
