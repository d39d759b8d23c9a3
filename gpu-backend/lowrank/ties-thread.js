/**
 * A worker thread of the TIES pool (ties-offthread.ts), with its own onnxruntime session and SIMD kernels, so that the
 * element-wise passes run beside the main thread's work (the randomized SVD's products, whose `run` holds the main
 * thread). Plain JavaScript that registers tsx itself, as float64-thread.js does. Messages:
 * - `pass`: the first phase of one pass over a share of a module's rows (ties-runtime.ts's onePassRows), merging
 *   those rows from the sure values; answers each member's count above its bracket and its unsure entries, and holds
 *   the rest until
 * - `finish`: the exact thresholds (or none: drop what was held), which finish the held rows: the answer is them;
 * - `module`: the one pass over a whole module, thresholds and finish included (ties-runtime.ts's tiesOnePass): one
 *   thread needs no round trip to the main thread between the phases;
 * - `whole`: a module's whole TIES (ties-runtime.ts's tiesOnRuntime), for a module one pass does not suit.
 */
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { tiesOnRuntime, tiesOnePass, onePassRows, finishOnePass } = await import('./ties-runtime.ts');
const { tiesPasses } = await import('./ties-passes.ts');

/** Passes waiting for their thresholds, by the id of their `pass` message. */
const held = new Map();

const failed = (id, error) => parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });

async function whole({ id, factors, weights, density, seed }) {
  try {
    const merged = await tiesOnRuntime(factors, weights, density, seed, { side: 'kernels' });
    parentPort.postMessage({ id, merged }, [merged.data.buffer]);
  } catch (error) {
    failed(id, error);
  }
}

async function onePassOf({ id, s, drawn, weight, k }) {
  try {
    const passes = await tiesPasses(s, 'kernels', 1);
    const merged = await tiesOnePass(s, passes.onePass, passes.rowsPerBlock, k, weight, drawn);
    if (merged) parentPort.postMessage({ id, rows: merged }, [merged.buffer]);
    else parentPort.postMessage({ id, overflow: true });
  } catch (error) {
    failed(id, error);
  }
}

async function pass({ id, s, drawn, weight }) {
  try {
    const merged = new Float32Array(s.rows * s.cols);
    // One thread per MatMul: the pool's threads, each on its own rows, are the parallelism.
    const passes = await tiesPasses(s, 'kernels', 1);
    const unsure = await onePassRows(s, passes.onePass, passes.rowsPerBlock, weight, drawn, merged);
    if (!unsure) {
      parentPort.postMessage({ id, overflow: true });
      return;
    }
    const finished = new Promise((resolve) =>
      held.set(id, { onePass: passes.onePass, weight, merged, base: s.firstRow * s.cols, resolve }),
    );
    const values = unsure.lists.map((l) => l.values.slice());
    const positions = unsure.lists.map((l) => l.positions.slice());
    parentPort.postMessage(
      { id, above: unsure.above, values, positions },
      [...values, ...positions].map((x) => x.buffer),
    );
    // The next pass waits for this one's finish, so a thread holds one module's kernels and rows at a time.
    await finished;
  } catch (error) {
    failed(id, error);
  }
}

function finish({ id, of, trim }) {
  try {
    const pending = held.get(of);
    held.delete(of);
    pending.resolve();
    if (!trim) {
      parentPort.postMessage({ id });
      return;
    }
    finishOnePass(pending.onePass, trim, pending.weight, pending.merged, pending.base);
    parentPort.postMessage({ id, rows: pending.merged }, [pending.merged.buffer]);
  } catch (error) {
    failed(id, error);
  }
}

// Passes and whole modules one at a time, in the order asked: a module queued while another runs waits rather than
// interleaving with it at every await (two at once here kept one module's memory too many). A `finish` is not queued:
// the pass it ends is still in the queue, waiting for it.
let queue = Promise.resolve();
parentPort.on('message', (job) => {
  if (job.kind === 'finish') finish(job);
  // `end` closes the port after the queue, so the thread's loop runs dry and it exits normally.
  else queue = queue.then(() => (job.kind === 'end' ? parentPort.close() : ({ module: onePassOf, pass, whole }[job.kind] ?? whole)(job)));
});
