/**
 * A worker thread that runs the symmetric eigensolver (symmetric-eigen.ts) for eigen-pool.ts. Plain JavaScript
 * that registers tsx itself, as artifact-thread.js does, so it starts the same however its parent was started.
 */
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { eigenInPlace, eigenWork } = await import('./symmetric-eigen.ts');
parentPort.on('message', ({ id, n, data }) => {
  const w = eigenWork(n);
  eigenInPlace(n, data, w);
  parentPort.postMessage({ id, values: w.d, vectors: data }, [w.d.buffer, data.buffer]);
});
