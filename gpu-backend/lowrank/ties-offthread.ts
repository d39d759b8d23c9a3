/**
 * TIES of one module's whole deltas on a worker thread (ties-thread.js), for the CPU: onnxruntime-node's `run` holds
 * the thread that calls it, and it refuses tensors on shared memory, so the kernels cannot read deltas the main
 * thread's runtime wrote; a module's whole pass (its own runtime session and kernels) runs there instead, while the
 * main thread does the module before's SVD. One thread, started on first use; it keeps the process alive only while
 * it has work.
 */
import { Worker } from 'node:worker_threads';
import type { F32Mat } from './gemm-runner.ts';
import type { Mat } from './linalg.ts';

interface Job {
  resolve: (m: F32Mat) => void;
  reject: (e: Error) => void;
}

let worker: Worker | null = null;
const jobs = new Map<number, Job>();
let nextId = 0;

function thread(): Worker {
  if (worker) return worker;
  // Only the profiler's flags pass on (tsx is registered there by the thread itself), so `node --cpu-prof` profiles
  // this thread too; its profile is written when it ends normally (endTiesThread), not when the process exits.
  const execArgv = process.execArgv.filter((flag) => flag.startsWith('--cpu-prof'));
  const w = new Worker(new URL('./ties-thread.js', import.meta.url), { execArgv });
  w.unref();
  w.on('message', ({ id, merged, error }: { id: number; merged?: F32Mat; error?: string }) => {
    const job = jobs.get(id)!;
    jobs.delete(id);
    if (jobs.size === 0) w.unref();
    if (merged) job.resolve(merged);
    else job.reject(new Error(error));
  });
  w.on('error', (err) => {
    for (const job of jobs.values()) job.reject(err);
    jobs.clear();
    worker = null;
  });
  worker = w;
  return w;
}

/** ties-runtime.ts's tiesOnRuntime (on the CPU's kernels), off the main thread. */
export function tiesOffThread(factors: { b: Mat; a: Mat }[], weights: number[], density: number, seed: number): Promise<F32Mat> {
  const w = thread();
  const id = nextId++;
  return new Promise<F32Mat>((resolve, reject) => {
    jobs.set(id, { resolve, reject });
    if (jobs.size === 1) w.ref();
    w.postMessage({ id, factors, weights, density, seed });
  });
}

/** Ends the thread once its queued modules are done, so that it exits normally (a profiler writes its profile then). */
export async function endTiesThread(): Promise<void> {
  const w = worker;
  if (!w) return;
  worker = null;
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  w.ref();
  w.postMessage({ end: true });
  await exited;
}
