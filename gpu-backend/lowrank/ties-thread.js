/**
 * The TIES worker thread (ties-offthread.ts), with its own onnxruntime session and SIMD kernels, so that the
 * element-wise passes run beside the main thread's work (the randomized SVD's products, whose `run` holds the main
 * thread). Plain JavaScript that registers tsx itself, as float64-thread.js does. Messages:
 * - `module`: the one pass over a whole module, thresholds and finish included (ties-runtime.ts's tiesOnePass);
 * - `whole`: a module's whole TIES (ties-runtime.ts's tiesOnRuntime), for a module one pass does not suit;
 * - `rows`: a module's merged rows given back once the main thread is done with them, for a later module's (taken at
 *   once, not queued: the larger of two is kept, and none once idle, ties-spare.ts). Fresh rows cost a page fault and
 *   a zeroed page every 4 KB (an 8B layer's seven modules 870 MB of them), where rows written before cost neither;
 * - `end`: close once the queued modules are done.
 */
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { tiesOnRuntime, tiesOnePass } = await import('./ties-runtime.ts');
const { tiesPasses } = await import('./ties-passes.ts');
const { spare } = await import('./ties-spare.ts');

const failed = (id, error) => parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });

async function whole({ id, factors, weights, density, seed }) {
  try {
    const merged = await tiesOnRuntime(factors, weights, density, seed, { side: 'kernels' });
    parentPort.postMessage({ id, merged }, [merged.data.buffer]);
  } catch (error) {
    failed(id, error);
  }
}

/** Merged rows given back (`rows`), for the next module they fit; dropped when idle, as the kernels are. */
const lent = spare((a, b) => a.length > b.length);

async function onePassOf({ id, s, drawn, weight, k }) {
  try {
    // One intra-op thread: the main thread's SVD runs beside this one.
    const passes = await tiesPasses(s, 'kernels', 1);
    const into = lent.take((rows) => rows.length >= s.rows * s.cols) ?? undefined;
    const merged = await tiesOnePass(s, passes.onePass, passes.rowsPerBlock, k, weight, drawn, into);
    passes.done();
    if (merged) parentPort.postMessage({ id, rows: merged }, [merged.buffer]);
    else {
      if (into) lent.keep(into);
      parentPort.postMessage({ id, overflow: true });
    }
  } catch (error) {
    failed(id, error);
  }
}

// Modules one at a time, in the order asked: a module queued while another runs waits rather than interleaving with
// it at every await (two at once here kept one module's memory too many).
let queue = Promise.resolve();
parentPort.on('message', (job) => {
  if (job.kind === 'rows') return lent.keep(job.rows);
  // `end` closes the port after the queue, so the thread's loop runs dry and it exits normally.
  queue = queue.then(() => (job.kind === 'end' ? parentPort.close() : ({ module: onePassOf, whole }[job.kind] ?? whole)(job)));
});
