/**
 * Runs artifact-compute.ts on a worker thread of its own, one per job: the event loop stays free for heartbeats,
 * lease renewals and inference while the algebra runs, and a stopped job (cancel, lost lease, shutdown) ends
 * its thread at once.
 */
import { Worker } from 'node:worker_threads';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { executionProviderInUse } from '../engine/providers.ts';
import type { ComputeInput } from './artifact-compute.ts';
import type { Built } from './artifact-job.ts';
import type { JobPhases } from './job-phases.ts';

interface Answer {
  built?: Built;
  error?: { invalid: boolean; code?: string; message: string; param?: string; stack?: string };
}

/** Milliseconds since the epoch, fractional: the one clock the backend and its threads share. */
export const epochMs = () => performance.timeOrigin + performance.now();

/** `phases` gets the thread's own split (its start, the algebra, serialization) and the rest as `thread_io`. */
export function computeInThread(input: ComputeInput, signal: AbortSignal, phases?: JobPhases): Promise<Built> {
  signal.throwIfAborted();
  // Its own loader (tsx, registered by the thread), not the parent's flags.
  // The thread's products run on the provider the backend chose (module state does not cross threads).
  const workerData = { input, provider: executionProviderInUse(), sentAt: epochMs() };
  const worker = new Worker(new URL('./artifact-thread.js', import.meta.url), { workerData, execArgv: [] });
  return new Promise<Built>((resolve, reject) => {
    const stop = () => {
      reject(signal.reason instanceof Error ? signal.reason : new Error(`stopped: ${String(signal.reason)}`));
      void worker.terminate();
    };
    signal.addEventListener('abort', stop, { once: true });
    worker.once('message', (answer: Answer) => {
      signal.removeEventListener('abort', stop);
      void worker.terminate();
      if (answer.built) {
        if (phases && answer.built.phases) {
          phases.mark('thread_io');
          const inThread = Object.values(answer.built.phases).reduce((a, b) => a + b, 0);
          phases.add('thread_io', -inThread);
          phases.addAll(answer.built.phases);
        }
        return resolve(answer.built);
      }
      const e = answer.error!;
      if (e.invalid) return reject(new InvalidInputError(e.code ?? 'invalid_input', e.message, e.param));
      const err = new Error(e.message);
      err.stack = e.stack;
      reject(err);
    });
    worker.once('error', (err) => {
      signal.removeEventListener('abort', stop);
      reject(err);
    });
    worker.once('exit', (code) => {
      signal.removeEventListener('abort', stop);
      reject(new Error(`the compute thread exited (${code}) without an answer`));
    });
  });
}
