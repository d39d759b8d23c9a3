/**
 * symEig on worker threads, so that the N×N eigenproblems of a merge (two per module, a third of a 135M merge's
 * CPU at N = 128) run on the other cores while the main thread goes on with the next module's products and
 * factorizations. Below POOL_MIN_N a problem is solved in place: a message costs more than the solve.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Mat } from './linalg.ts';
import { symEig } from './symmetric-eigen.ts';

/** Order from which an eigenproblem goes to a thread (a 64×64 solve takes ~1 ms here). */
export const POOL_MIN_N = 64;

interface Pending {
  resolve: (r: { values: Float64Array; vectors: Mat }) => void;
  reject: (e: Error) => void;
  n: number;
}

interface Thread {
  worker: Worker;
  busy: number;
}

let threads: Thread[] | null = null;
const pending = new Map<number, Pending>();
let nextId = 0;

function pool(): Thread[] {
  if (threads) return threads;
  const size = Math.max(1, Math.min(4, availableParallelism()));
  threads = Array.from({ length: size }, () => {
    // Its own loader (tsx, registered by the thread), not the parent's flags.
    const worker = new Worker(new URL('./eigen-thread.js', import.meta.url), { execArgv: [] });
    const thread = { worker, busy: 0 };
    worker.unref();
    worker.on('message', ({ id, values, vectors }: { id: number; values: Float64Array; vectors: Float64Array }) => {
      const job = pending.get(id)!;
      pending.delete(id);
      if (--thread.busy === 0) worker.unref();
      job.resolve({ values, vectors: { rows: job.n, cols: job.n, data: vectors } });
    });
    worker.on('error', (err) => {
      // A thread that fails takes the pool down; what it held is rejected and the next call starts a new pool.
      for (const job of pending.values()) job.reject(err);
      pending.clear();
      for (const t of threads ?? []) void t.worker.terminate();
      threads = null;
    });
    return thread;
  });
  return threads;
}

/** symEig (eigenvalues descending, eigenvectors as columns), on the least busy thread when s is large. */
export function symEigAsync(s: Mat): Promise<{ values: Float64Array; vectors: Mat }> {
  const n = s.rows;
  if (s.cols !== n) throw new Error(`symEigAsync: ${s.rows}×${s.cols} is not square`);
  if (n < POOL_MIN_N) return Promise.resolve(symEig(s));
  const thread = pool().reduce((a, b) => (b.busy < a.busy ? b : a));
  const id = nextId++;
  const data = Float64Array.from(s.data);
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, n });
    if (thread.busy++ === 0) thread.worker.ref();
    thread.worker.postMessage({ id, n, data }, [data.buffer]);
  });
}
