/**
 * Worker threads that tokenize long texts, so a large prompt never holds the event loop that streams every other
 * request's tokens (a 100 KB prompt is ~80 ms of tokenizers.js). Workers start on first use and do not keep the
 * process alive; each job goes to the worker with the fewest pending.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

interface Job {
  resolve: (ids: number[]) => void;
  reject: (err: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Job>;
}

export class TokenizerPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;

  constructor(private readonly size = Math.max(1, Math.min(2, availableParallelism() - 1))) {}

  /** Token ids of `text` with the tokenizer in folder `dir` (tokenizer.json, tokenizer_config.json). */
  encode(dir: string, text: string, addSpecialTokens: boolean): Promise<number[]> {
    const w = this.pick();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      if (w.pending.size === 1) w.worker.ref();
      w.worker.postMessage({ id, dir, text, addSpecialTokens });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  private pick(): PoolWorker {
    if (this.workers.length < this.size) return this.spawn();
    return this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private spawn(): PoolWorker {
    const worker = new Worker(new URL('./tokenize-worker.js', import.meta.url));
    const w: PoolWorker = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (m: { id: number; ids?: Int32Array; error?: string }) => {
      const job = w.pending.get(m.id);
      w.pending.delete(m.id);
      if (w.pending.size === 0) worker.unref();
      if (m.ids) job?.resolve(Array.from(m.ids));
      else job?.reject(new Error(`tokenizer worker: ${m.error}`));
    });
    worker.on('error', (err) => this.fail(w, err));
    worker.on('exit', (code) => this.fail(w, new Error(`tokenizer worker exited (${code})`)));
    this.workers.push(w);
    return w;
  }

  /** A dead worker fails its jobs and leaves the pool; the next job starts a fresh one. */
  private fail(w: PoolWorker, err: Error): void {
    for (const job of w.pending.values()) job.reject(err);
    w.pending.clear();
    const at = this.workers.indexOf(w);
    if (at >= 0) this.workers.splice(at, 1);
  }
}

/** The backend's one pool. */
export const tokenizerPool = new TokenizerPool();
