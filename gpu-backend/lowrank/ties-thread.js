/**
 * A worker thread that runs one module's TIES of whole deltas (ties-runtime.ts: the runtime forms the deltas, the
 * SIMD kernels trim and merge them) with its own onnxruntime session, so that it overlaps with the main thread's
 * work on the module before (the randomized SVD's products, whose `run` holds the main thread). Plain JavaScript
 * that registers tsx itself, as float64-thread.js does.
 */
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { tiesOnRuntime } = await import('./ties-runtime.ts');

async function merge({ id, factors, weights, density, seed }) {
  try {
    const merged = await tiesOnRuntime(factors, weights, density, seed, { side: 'kernels' });
    parentPort.postMessage({ id, merged }, [merged.data.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
}

// One module at a time, in the order asked: a module queued while another runs waits rather than interleaving with
// it at every await (two passes at once here, beside the main thread's SVD, were one module's memory too many).
let queue = Promise.resolve();
parentPort.on('message', (job) => {
  // `end` closes the port after the queue, so the thread's loop runs dry and it exits normally.
  queue = queue.then(() => (job.end ? parentPort.close() : merge(job)));
});
