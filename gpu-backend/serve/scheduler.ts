/**
 * Online continuous batching for one base model: requests arrive at any time (from HTTP handlers, each with its
 * own adapter); one loop admits waiting requests into free batch rows (one prefill for all of them) and advances
 * every running row one token per decode step. Between steps it yields to the event loop, so new requests and
 * streamed tokens flow while the batch runs.
 */
import type { Decoder } from '../engine/decoder.ts';
import { checkRequest, newRow, RunningBatch, type GenerationRequest, type GenerationResult } from '../engine/generate.ts';

interface Pending {
  req: GenerationRequest;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
}

export class Scheduler {
  private readonly queue: Pending[] = [];
  private readonly batch: RunningBatch;
  private readonly waiting = new Map<number, Pending>();
  private nextId = 0;
  private running = false;

  constructor(
    private readonly decoder: Decoder,
    readonly maxBatch = 32,
  ) {
    this.batch = new RunningBatch(decoder, maxBatch);
    this.batch.onFinish = (row, reason) => {
      this.waiting.get(row.index)?.resolve({ tokens: row.tokens, finishReason: reason });
      this.waiting.delete(row.index);
    };
  }

  /** Requests queued or running. */
  get load(): number {
    return this.queue.length + this.batch.size;
  }

  /** Validates and enqueues a request; resolves when it finishes. */
  submit(req: GenerationRequest): Promise<GenerationResult> {
    checkRequest(this.decoder, req);
    const done = new Promise<GenerationResult>((resolve, reject) => this.queue.push({ req, resolve, reject }));
    if (!this.running) void this.loop();
    return done;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 || this.batch.size > 0) {
        const free = this.batch.capacity - this.batch.size;
        if (free > 0 && this.queue.length > 0) {
          const taken = this.queue.splice(0, free);
          for (const p of taken) if (p.req.signal?.aborted) p.resolve({ tokens: [], finishReason: 'cancelled' });
          const admitted = taken.filter((p) => !p.req.signal?.aborted);
          const rows = admitted.map((p) => {
            const id = this.nextId++;
            this.waiting.set(id, p);
            return newRow(p.req, id);
          });
          if (rows.length > 0) await this.batch.admit(rows);
        }
        if (this.batch.size > 0) await this.batch.decode();
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      // An engine failure fails every request in flight; the next submit starts a fresh loop.
      for (const p of [...this.waiting.values(), ...this.queue.splice(0)]) p.reject(err);
      this.waiting.clear();
      this.batch.clear();
    } finally {
      this.running = false;
    }
  }
}
