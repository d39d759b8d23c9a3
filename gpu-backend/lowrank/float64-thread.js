/**
 * A worker thread that runs the float64 kernels of float64-pool.ts (the symmetric eigensolver, the pivoted
 * Cholesky of a Gram, a thin QR). Plain JavaScript that registers tsx itself, as artifact-thread.js does, so it
 * starts the same however its parent was started.
 */
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { eigenInPlace, eigenWork } = await import('./symmetric-eigen.ts');
const { gramFactor } = await import('./gram-factor.ts');
const { qr } = await import('./linalg.ts');
const { factorModule } = await import('./reversible-factor.ts');
const { factorMeansFinite } = await import('./factor-parts.ts');
const { sharedCurveKernel, sharedFitKernel, sharedExactKernel } = await import('./shared-module-kernels.ts');
const { reusingStacks } = await import('./reversible-types.ts');
// This thread's own calls (the shared modules' steps) solve in place, and its sessions take one core.
(await import('./float64-pool.ts')).solveInPlace();
(await import('./gemm-runner.ts')).useGemmThreads(1);
// The eigensolver's WebAssembly loops (eigen-kernels.ts), ready before the first message is taken.
await (await import('./eigen-kernels.ts')).loadEigenKernels();
// The QR's and the pivoted Cholesky's too (qr-kernels.ts, cholesky-kernels.ts).
await (await import('./qr-kernels.ts')).loadQrKernels();
await (await import('./cholesky-kernels.ts')).loadCholeskyKernels();

const kernels = {
  eig: ({ n, data }) => {
    const w = eigenWork(n);
    eigenInPlace(n, data, w);
    return { values: w.d, vectors: data };
  },
  gramFactor: ({ gram, tol }) => gramFactor(gram, tol),
  qr: ({ a }) => qr(a),
  // The alternating steps read only Q: R stays here rather than crossing back.
  qrQ: ({ a }) => ({ q: qr(a).q }),
  factorModule: ({ slot, p, svdForm }) => factorModule(slot, p, svdForm).parts,
  // The parts written into shared memory the caller laid out; only whether their means are finite is sent back.
  factorModuleInto: ({ slot, p, svdForm, into }) => ({ finite: factorMeansFinite([factorModule(slot, p, svdForm, undefined, into)]) }),
  // An rmm_shared module's steps, runtime products included (shared-module-kernels.ts); asynchronous.
  sharedCurve: sharedCurveKernel,
  sharedFit: sharedFitKernel,
  sharedExact: sharedExactKernel,
};

// One message at a time, in order: an asynchronous kernel is not interleaved with the next at its awaits, so each
// holds only its own module's memory and counts only its own products. While messages are queued, the stacked
// factors' arrays are reused from module to module of one shape (reusingStacks), and dropped once the queue is dry.
let queue = Promise.resolve();
let queued = 0;
let drained = () => {};
parentPort.on('message', ({ id, kernel, args }) => {
  if (queued++ === 0) reusingStacks(() => new Promise((resolve) => (drained = resolve)));
  queue = queue
    .then(async () => {
      const result = await kernels[kernel](args);
      const buffers = new Set();
      for (const v of Object.values(result)) if (typeof v === 'object') buffers.add((v.data ?? v).buffer);
      parentPort.postMessage({ id, result }, [...buffers]);
    })
    // A kernel that fails takes the thread down as an uncaught error, which the pool reports to every caller
    // (float64-pool.ts); the queue itself stays usable until then.
    .catch((err) =>
      setImmediate(() => {
        throw err;
      }),
    )
    .finally(() => {
      if (--queued === 0) drained();
    });
});
