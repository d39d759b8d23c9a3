/**
 * TIES of one module's whole deltas on a worker thread (ties-thread.js), for the CPU: onnxruntime-node's `run` holds
 * the thread that calls it, and it refuses tensors on shared memory, so the kernels cannot read deltas the main
 * thread's runtime wrote; the thread forms and merges a module (its own runtime session and kernels) while the main
 * thread does the module before's SVD. The main thread draws the brackets before; the thread finds the exact
 * thresholds itself (a round trip for them left it waiting on the main thread's other work). The merged values are
 * the ones tiesOnRuntime gives, bit for bit. Started on first use; the thread keeps the process alive only while it
 * has work.
 *
 * The main thread gives each merged delta back once its SVD is done (giveBackRows), and the thread writes a later
 * module's rows into it; with the modules taken largest first it fits every later one, so a layer touches two fresh
 * merged buffers rather than seven. While the thread has a module, the main thread's SVD runs its products on one
 * intra-op thread (tiesThreadBusy; merge-collapsed.ts), so that they leave this thread its core.
 *
 * One thread: splitting a module's rows over two (the main thread's SVD beside them) took an 8B layer's peak RSS to
 * 1,107–1,196 MB against its budget of 1,104 (the second thread's heap, runtime and kernel block, and the unsure
 * entries sent between the one pass's two phases), and 1.1 CPU-s more a layer under load, so it was removed.
 */
import { Worker } from 'node:worker_threads';
import type { F32Mat } from './gemm-runner.ts';
import type { Mat } from './linalg.ts';
import { planTies } from './ties-runtime.ts';

interface Reply {
  id: number;
  error?: string;
  merged?: F32Mat;
  overflow?: boolean;
  rows?: Float32Array;
}

interface Thread {
  worker: Worker;
  jobs: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>;
}

let current: Thread | null = null;
let nextId = 0;

function thread(): Thread {
  if (current) return current;
  // Only the profiler's flags pass on (tsx is registered there by the thread itself), so `node --cpu-prof` profiles
  // the thread too; its profile is written when it ends normally (endTiesThread), not when the process exits.
  const execArgv = process.execArgv.filter((flag) => flag.startsWith('--cpu-prof'));
  const worker = new Worker(new URL('./ties-thread.js', import.meta.url), { execArgv });
  worker.unref();
  const t: Thread = { worker, jobs: new Map() };
  worker.on('message', (reply: Reply) => {
    const job = t.jobs.get(reply.id)!;
    t.jobs.delete(reply.id);
    if (t.jobs.size === 0) worker.unref();
    if (reply.error === undefined) job.resolve(reply);
    else job.reject(new Error(reply.error));
  });
  worker.on('error', (err) => {
    for (const job of t.jobs.values()) job.reject(err);
    t.jobs.clear();
    if (current === t) current = null;
  });
  current = t;
  return t;
}

function ask(message: Record<string, unknown>): Promise<Reply> {
  const t = thread();
  const id = nextId++;
  return new Promise<Reply>((resolve, reject) => {
    t.jobs.set(id, { resolve, reject });
    if (t.jobs.size === 1) t.worker.ref();
    t.worker.postMessage({ ...message, id });
  });
}

/**
 * ties-runtime.ts's tiesOnRuntime (on the CPU's kernels), off the main thread: the one pass where the brackets
 * suit it, else the whole two-pass way.
 */
export async function tiesOffThread(factors: { b: Mat; a: Mat }[], weights: number[], density: number, seed: number): Promise<F32Mat> {
  thread(); // started first, so that it starts up while this thread draws the brackets
  const whole = async () => (await ask({ kind: 'whole', factors, weights, density, seed })).merged!;
  const { s, k, weight, drawn, onePass } = planTies(factors, weights, density, seed);
  if (!drawn || !onePass) return whole();
  const one = await ask({ kind: 'module', s, drawn, weight, k });
  if (one.overflow) return whole();
  fromThread.add(one.rows!.buffer);
  return { rows: s.rows, cols: s.cols, data: one.rows! };
}

/** Whether the thread has a module in hand (the main thread's products then leave it the second core). */
export function tiesThreadBusy(): boolean {
  return current !== null && current.jobs.size > 0;
}

/** The buffers of merged rows the thread wrote (tiesOffThread), which giveBackRows may return to it. */
const fromThread = new WeakSet<ArrayBufferLike>();

/**
 * Gives a merged delta of tiesOffThread back to the thread once the caller is done with it (it must not be read
 * after: its buffer moves), for a later module's rows; anything else is left alone. The thread keeps one such
 * buffer (the largest), so this holds no more memory than the caller's copy would until its collection.
 */
export function giveBackRows(merged: F32Mat): void {
  const { buffer } = merged.data;
  if (!current || !fromThread.has(buffer)) return;
  fromThread.delete(buffer);
  const rows = new Float32Array(buffer);
  current.worker.postMessage({ kind: 'rows', rows }, [buffer as ArrayBuffer]);
}

/** Ends the thread once its queued work is done, so that it exits normally (a profiler writes its profile then). */
export async function endTiesThread(): Promise<void> {
  const t = current;
  if (!t) return;
  current = null;
  const exited = new Promise<void>((resolve) => t.worker.once('exit', () => resolve()));
  t.worker.ref();
  t.worker.postMessage({ kind: 'end' });
  await exited;
}
