/**
 * TIES of one module's whole deltas on a pool of worker threads (ties-thread.js), for the CPU: onnxruntime-node's
 * `run` holds the thread that calls it, and it refuses tensors on shared memory, so the kernels cannot read deltas
 * the main thread's runtime wrote; the pool's threads (one by default) each form and merge a share of the module's
 * rows instead (their own runtime session and kernels), while the main thread does the module before's SVD. The main
 * thread draws the brackets before; one thread then finds the exact thresholds itself, and several send their unsure
 * entries back between the one pass's two phases, for the main thread to find them from all shares. Either way the
 * merged values are the ones tiesOnRuntime gives, bit for bit. Several shares come back as blocks of rows (F32Rows),
 * which the SVD multiplies block by block, as one array would need a copy of the whole delta. Started on first use;
 * the threads keep the process alive only while they have work.
 */
import { Worker } from 'node:worker_threads';
import type { F32Rows } from './f32-rows.ts';
import type { F32Mat } from './gemm-runner.ts';
import type { Mat } from './linalg.ts';
import type { Stacked } from './ties-passes.ts';
import { bracketsHold, concat, exactTrim, planTies, type Trim } from './ties-runtime.ts';

/**
 * Threads in the pool: one by default. Two (each module's rows in two shares, the main thread's SVD of the module
 * before beside them) shortened the critical path, but two threads' kernels and rows beside the SVD's delta took the
 * peak RSS of an 8B layer to 1,107–1,151 MB, above its budget of 1,104 (2 × 40 MB of members + 1 GB), and under load
 * the layer took more CPU (15.6–18.6 s against 14.4–14.5 with one). setTiesThreads changes it (tests, benchmarks).
 */
let threads = 1;

export function setTiesThreads(n: number): void {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`setTiesThreads: ${n}`);
  threads = n;
}

interface Reply {
  id: number;
  error?: string;
  merged?: F32Mat;
  overflow?: boolean;
  above?: Float64Array;
  values?: Float32Array[];
  positions?: Int32Array[];
  rows?: Float32Array;
}

interface Thread {
  worker: Worker;
  jobs: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>;
}

const pool: (Thread | null)[] = [];
let nextId = 0;

function thread(i: number): Thread {
  const have = pool[i];
  if (have) return have;
  // Only the profiler's flags pass on (tsx is registered there by the thread itself), so `node --cpu-prof` profiles
  // these threads too; a thread's profile is written when it ends normally (endTiesThread), not when the process exits.
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
    if (pool[i] === t) pool[i] = null;
  });
  pool[i] = t;
  return t;
}

function ask(i: number, message: Record<string, unknown>): Promise<Reply> {
  const t = thread(i);
  const id = nextId++;
  return new Promise<Reply>((resolve, reject) => {
    t.jobs.set(id, { resolve, reject });
    if (t.jobs.size === 1) t.worker.ref();
    t.worker.postMessage({ ...message, id });
  });
}

/** Rows [from, to) of the stacked factors, as their own stack that knows where it starts. */
function rowsOf(s: Stacked, from: number, to: number): Stacked {
  const { n, rows, rank } = s;
  const b = new Float32Array(n * (to - from) * rank);
  for (let i = 0; i < n; i++) b.set(s.b.subarray((i * rows + from) * rank, (i * rows + to) * rank), i * (to - from) * rank);
  return { ...s, rows: to - from, b, firstRow: from };
}

/**
 * ties-runtime.ts's tiesOnRuntime (on the CPU's kernels), off the main thread: its one pass on every thread's rows,
 * the result as their blocks; a module one pass does not suit goes whole to one thread.
 */
export async function tiesOffThread(
  factors: { b: Mat; a: Mat }[],
  weights: number[],
  density: number,
  seed: number,
): Promise<F32Mat | F32Rows> {
  const whole = async () => (await ask(0, { kind: 'whole', factors, weights, density, seed })).merged!;
  const { s, k, weight, drawn, onePass } = planTies(factors, weights, density, seed);
  if (!drawn || !onePass) return whole();
  const shares = Math.min(threads, s.rows);
  if (shares === 1) {
    // One thread finds the thresholds itself: a round trip for them left it waiting on the main thread's other work.
    const one = await ask(0, { kind: 'module', s, drawn, weight, k });
    return one.overflow ? whole() : { rows: s.rows, cols: s.cols, data: one.rows! };
  }
  const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * s.rows) / shares));
  const passes = await Promise.all(
    Array.from({ length: shares }, (_, i) => ask(i, { kind: 'pass', s: rowsOf(s, bounds[i], bounds[i + 1]), drawn, weight })),
  );
  const finish = (trim: Trim | null) => Promise.all(passes.map((p, i) => (p.overflow ? null : ask(i, { kind: 'finish', of: p.id, trim }))));
  // Each member's unsure entries from all shares, in row order (the shares are in row order).
  const above = Float64Array.from({ length: s.n }, (_, m) => passes.reduce((sum, p) => sum + (p.above?.[m] ?? 0), 0));
  const inside = passes.some((p) => p.overflow) ? null : Array.from({ length: s.n }, (_, m) => concat(passes.map((p) => p.values![m])));
  if (!inside || !bracketsHold(k, above, inside)) {
    await finish(null);
    return whole();
  }
  const positions = Array.from({ length: s.n }, (_, m) => concat(passes.map((p) => p.positions![m])));
  const finished = await finish(exactTrim(k, above, inside, positions));
  return {
    rows: s.rows,
    cols: s.cols,
    parts: finished.map((f, i) => ({ rows: bounds[i + 1] - bounds[i], cols: s.cols, data: f!.rows! })),
  };
}

/** Ends the pool's threads once their queued work is done, so that they exit normally (a profiler writes their profiles then). */
export async function endTiesThread(): Promise<void> {
  await Promise.all(
    pool.map(async (t, i) => {
      if (!t) return;
      pool[i] = null;
      const exited = new Promise<void>((resolve) => t.worker.once('exit', () => resolve()));
      t.worker.ref();
      t.worker.postMessage({ kind: 'end' });
      await exited;
    }),
  );
}
