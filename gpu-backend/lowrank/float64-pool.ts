/**
 * The float64 kernels of a merge (the N×N eigenproblems, the pivoted Choleskys of CholeskyQR2, the thin QRs of
 * the alternating steps) on worker threads, so that they run on the other cores while the main thread goes on
 * with other modules' runtime products. Together they were most of a 135M merge's CPU at N = 128. Below a size
 * a problem is solved in place, where a message costs more than the solve. Hand-written rather than a pool
 * library: three pure functions, one message each, and the thread must register tsx itself (float64-thread.js).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Mat, qr } from './linalg.ts';
import { gramFactor } from './gram-factor.ts';
import { symEig } from './symmetric-eigen.ts';
import { loadEigenKernels } from './eigen-kernels.ts';

/** Order from which an N×N problem goes to a thread (a 64×64 eigensolve takes ~1 ms here). */
export const POOL_MIN_N = 64;

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  busy: number;
}

let threads: Thread[] | null = null;

/** Set on a float64 thread itself (float64-thread.js), whose own calls solve in place rather than start threads. */
let inPlace = false;

/** Makes this thread's calls below solve in place: it is one of the pool's threads. */
export function solveInPlace(): void {
  inPlace = true;
}

/** Whether calls below start or use threads here (false on a pool thread itself). */
export function threadsHere(): boolean {
  return !inPlace;
}
const pending = new Map<number, Pending>();
let nextId = 0;

function pool(): Thread[] {
  if (threads) return threads;
  // The solves kept on this thread use the WebAssembly loops too once loaded; until then (or if wabt fails) the
  // JavaScript loops give the same results.
  loadEigenKernels().catch(() => undefined);
  const size = Math.max(1, Math.min(4, availableParallelism()));
  threads = Array.from({ length: size }, () => {
    // Its own loader (tsx, registered by the thread), not the parent's flags.
    const worker = new Worker(new URL('./float64-thread.js', import.meta.url), { execArgv: [] });
    const thread = { worker, busy: 0 };
    // Idle threads do not keep the process alive; a thread with work does (ref below).
    worker.unref();
    worker.on('message', ({ id, result }: { id: number; result: unknown }) => {
      const job = pending.get(id)!;
      pending.delete(id);
      if (--thread.busy === 0) worker.unref();
      job.resolve(result);
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

/** Runs kernel `kernel` of float64-thread.js on the least busy thread; `transfer` lists buffers handed over. */
export function onThread<R>(kernel: string, args: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<R> {
  const thread = pool().reduce((a, b) => (b.busy < a.busy ? b : a));
  const id = nextId++;
  return new Promise<R>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
    if (thread.busy++ === 0) thread.worker.ref();
    thread.worker.postMessage({ id, kernel, args }, transfer);
  });
}

/** Arrays whose callers will not read them again (handOver): sent to a thread as they are, not copied. */
const handedOver = new WeakSet<Float64Array>();

/**
 * Marks m as not read again by its caller, so that a kernel below sends its buffer to the thread (detaching it
 * here) rather than a copy: a merge sends each module's Grams and sketches once and drops them.
 */
export function handOver(m: Mat): Mat {
  handedOver.add(m.data);
  return m;
}

/** A copy of m whose buffer can be handed to a thread, or m's own where it was handed over and owns all of it. */
function copy(m: Mat): { rows: number; cols: number; data: Float64Array<ArrayBuffer> } {
  const d = m.data;
  if (handedOver.has(d) && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer)
    return { rows: m.rows, cols: m.cols, data: d as Float64Array<ArrayBuffer> };
  return { rows: m.rows, cols: m.cols, data: new Float64Array(m.data) };
}

/** symEig (eigenvalues descending, eigenvectors as columns). */
export async function symEigAsync(s: Mat): Promise<{ values: Float64Array; vectors: Mat }> {
  const n = s.rows;
  if (s.cols !== n) throw new Error(`symEigAsync: ${s.rows}×${s.cols} is not square`);
  if (n < POOL_MIN_N || inPlace) return symEig(s);
  const { data } = copy(s);
  const { values, vectors } = await onThread<{ values: Float64Array; vectors: Float64Array }>('eig', { n, data }, [data.buffer]);
  return { values, vectors: { rows: n, cols: n, data: vectors } };
}

/** gram-factor.ts's gramFactor. */
export function gramFactorAsync(gram: Mat, tol: number): Promise<{ map: Mat; r: Mat; spread: number }> {
  if (gram.rows < POOL_MIN_N || inPlace) return Promise.resolve(gramFactor(gram, tol));
  const g = copy(gram);
  return onThread('gramFactor', { gram: g, tol }, [g.data.buffer]);
}

/** The Q of linalg.ts's thin QR (its R not sent back). */
export async function orthonormalAsync(a: Mat): Promise<Mat> {
  if (Math.min(a.rows, a.cols) < POOL_MIN_N || inPlace) return qr(a).q;
  const x = copy(a);
  return (await onThread<{ q: Mat }>('qrQ', { a: x }, [x.data.buffer])).q;
}

/** linalg.ts's thin QR. */
export function qrAsync(a: Mat): Promise<{ q: Mat; r: Mat }> {
  if (Math.min(a.rows, a.cols) < POOL_MIN_N || inPlace) return Promise.resolve(qr(a));
  const x = copy(a);
  return onThread('qr', { a: x }, [x.data.buffer]);
}

/** Modules a merge works on at once (inWindow): two threads' worth of kernels and one module on the runtime. */
export const MODULES_IN_FLIGHT = 4;

/**
 * fn over items with at most `window` calls in flight, results in order: enough modules at once that the
 * threads and the main thread's runtime products keep each other busy.
 */
export async function inWindow<T, R>(items: T[], window: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
  return out;
}
