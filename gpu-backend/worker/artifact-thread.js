/**
 * A worker thread that computes one job's artifact (artifact-compute.ts) off the backend's event loop: a merge
 * of large adapters takes seconds to minutes of CPU, during which heartbeats and lease renewals must go on.
 * Plain JavaScript that registers tsx itself, so it starts the same however the backend was started.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { computeArtifact } = await import('./artifact-compute.ts');
const { useExecutionProvider } = await import('../engine/providers.ts');
try {
  await useExecutionProvider(workerData.provider);
  // From the backend's call to here: the thread's start, its loader and the modules it imports.
  const started = performance.timeOrigin + performance.now() - workerData.sentAt;
  const built = await computeArtifact(workerData.input);
  built.phases = { thread_start: started, ...built.phases };
  parentPort.postMessage({ built }, [...new Set(built.files.map(([, bytes]) => bytes.buffer))]);
} catch (err) {
  // An InvalidInputError is the user's to fix: its code, message and param cross over as they are.
  parentPort.postMessage({
    error: {
      invalid: err?.name === 'InvalidInputError',
      code: err?.code,
      message: err instanceof Error ? err.message : String(err),
      param: err?.param,
      stack: err instanceof Error ? err.stack : undefined,
    },
  });
}
