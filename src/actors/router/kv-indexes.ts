/**
 * The router's KV block indexes, one per function and model (a worker serves one model of one
 * function), created as the first worker's events arrive, with the model's configured block size.
 */
import { KvBlockIndex } from './kv-block-index.js';

export class KvIndexes {
  readonly #byModel = new Map<string, KvBlockIndex>();
  /** Which index each worker's events went to, to forget it when it leaves. */
  readonly #ofWorker = new Map<string, string>();

  static key(functionId: string, model: string): string {
    return `${functionId}\n${model}`;
  }

  get(functionId: string, model: string): KvBlockIndex | undefined {
    return this.#byModel.get(KvIndexes.key(functionId, model));
  }

  /** The index for a worker's model, made with `blockSize` (the model's configured size, if any) when new. */
  forWorker(workerId: string, functionId: string, model: string, blockSize: number | undefined): KvBlockIndex {
    const key = KvIndexes.key(functionId, model);
    const previous = this.#ofWorker.get(workerId);
    if (previous !== undefined && previous !== key) this.#byModel.get(previous)?.forget(workerId);
    this.#ofWorker.set(workerId, key);
    let index = this.#byModel.get(key);
    if (!index) {
      index = new KvBlockIndex(blockSize);
      this.#byModel.set(key, index);
    }
    return index;
  }

  forget(workerId: string): void {
    const key = this.#ofWorker.get(workerId);
    if (key === undefined) return;
    this.#byModel.get(key)?.forget(workerId);
    this.#ofWorker.delete(workerId);
  }
}
