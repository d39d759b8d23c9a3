/**
 * A worker thread that computes one job's artifact (artifact-compute.ts) off the backend's event loop: a merge
 * of large adapters takes seconds to minutes of CPU, during which heartbeats and lease renewals must go on.
 * Plain JavaScript that registers tsx itself, so it starts the same however the backend was started. It loads
 * while the backend fetches the job's inputs, then takes them in one message (compute-thread.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

/** The answer to the backend: the artifact (its files' buffers moved, not copied), or why there is none. */
function answer(work) {
  work.then(
    (built) => parentPort.postMessage({ built }, [...new Set(built.files.map(([, bytes]) => bytes.buffer))]),
    (err) =>
      // An InvalidInputError is the user's to fix: its code, message and param cross over as they are.
      parentPort.postMessage({
        error: {
          invalid: err?.name === 'InvalidInputError',
          code: err?.code,
          message: err instanceof Error ? err.message : String(err),
          param: err?.param,
          stack: err instanceof Error ? err.stack : undefined,
        },
      }),
  );
}

const loading = (async () => {
  register();
  const { computeArtifact } = await import('./artifact-compute.ts');
  const { useExecutionProvider } = await import('../engine/providers.ts');
  const { epochMs } = await import('./job-phases.ts');
  await useExecutionProvider(workerData.provider);
  return { computeArtifact, readyAt: epochMs() };
})();
// A thread that cannot start says so at once, without waiting for its input.
loading.catch((err) => answer(Promise.reject(err)));

parentPort.once('message', ({ input, sentAt }) =>
  answer(
    loading.then(async ({ computeArtifact, readyAt }) => {
      const built = await computeArtifact(input);
      // How long the inputs, once sent, waited for the thread to finish starting (0 when it was ready first).
      built.phases = { thread_wait: Math.max(0, readyAt - sentAt), ...built.phases };
      return built;
    }),
  ),
);
