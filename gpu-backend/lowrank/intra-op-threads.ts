/**
 * How many intra-op threads the runtime's products (gemm-runner.ts) use within one piece of async work, asked anew
 * for each product: a randomized SVD on the main thread runs beside a TIES worker thread (ties-offthread.ts), the
 * merge's critical path, which its second intra-op thread took a third to a half of a core from. Carried by
 * AsyncLocalStorage so that the products deep inside the SVD (span-basis.ts, svd.ts) need no parameter for it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** undefined: the session default (a thread per core). */
export type IntraOpThreads = () => number | undefined;

const scope = new AsyncLocalStorage<IntraOpThreads>();

/** Runs `work` with its runtime products on `threads()` intra-op threads, asked at each product. */
export function withIntraOpThreads<T>(threads: IntraOpThreads, work: () => Promise<T>): Promise<T> {
  return scope.run(threads, work);
}

/** The intra-op threads for a product started now (undefined outside withIntraOpThreads: the default). */
export function intraOpThreads(): number | undefined {
  return scope.getStore()?.();
}
