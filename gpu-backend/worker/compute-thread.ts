/**
 * Runs artifact-compute.ts on a worker thread of its own, one per job: the event loop stays free for heartbeats,
 * lease renewals and inference while the algebra runs, and a stopped job (cancel, lost lease, shutdown) ends
 * its thread at once. The thread starts before the job's inputs are fetched: its loader and imports take
 * seconds (2.8 s of a 1B merge job, bench merge-job), which then pass during the downloads.
 */
import { Worker } from 'node:worker_threads';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { executionProviderInUse } from '../engine/providers.ts';
import type { ComputeInput } from './artifact-compute.ts';
import type { Built } from './artifact-job.ts';
import { epochMs, type JobPhases } from './job-phases.ts';
import { mergeHeapForNewThreads } from './merge-heap.ts';

interface Answer {
  built?: Built;
  error?: { invalid: boolean; code?: string; message: string; param?: string; stack?: string };
}

/**
 * The adapters' factor buffers, moved to the thread rather than copied (a 1B merge's members are 344 MB). Only
 * buffers over 64 KiB: a smaller one may be a slice of Node's shared Buffer pool, which must stay here. A revert's
 * stored bytes are copied: they come from the storage client, which may view them in a buffer of its own.
 */
function transferables(input: ComputeInput): ArrayBuffer[] {
  const adapters = 'members' in input ? input.members.map((m) => m.adapter) : 'source' in input ? [input.source] : [];
  const buffers = adapters.flatMap((a) => a.modules.flatMap((m) => [m.a.buffer, m.b.buffer]));
  return [...new Set(buffers.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 65_536))];
}

/**
 * Starts the thread, then fetches the job's inputs with `load` and hands them over. `phases` gets the thread's
 * own split (its wait for its start, the algebra, serialization) and the rest as `thread_io`.
 */
export async function computeInThread(load: () => Promise<ComputeInput>, signal: AbortSignal, phases?: JobPhases): Promise<Built> {
  signal.throwIfAborted();
  // Before the thread exists: V8 sizes its heap when it creates it (merge-heap.ts says why).
  mergeHeapForNewThreads();
  // Its own loader (tsx, registered by the thread), not the parent's flags.
  // The thread's products run on the provider the backend chose (module state does not cross threads).
  const worker = new Worker(new URL('./artifact-thread.js', import.meta.url), {
    workerData: { provider: executionProviderInUse() },
    execArgv: [],
  });
  const answer = new Promise<Built>((resolve, reject) => {
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
  // Settled while the inputs load (a stop, a thread that failed to start): awaited below or dropped with them.
  answer.catch(() => {});
  try {
    const input = await load();
    signal.throwIfAborted();
    worker.postMessage({ input, sentAt: epochMs() }, transferables(input));
  } catch (err) {
    void worker.terminate();
    throw err;
  }
  return answer;
}
