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
  const built = await computeArtifact(workerData.input);
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
