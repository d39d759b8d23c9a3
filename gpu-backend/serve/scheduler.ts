/**
 * Online continuous batching for one base model: requests arrive at any time (from HTTP handlers, each with its
 * own adapter) and wait in a queue that is fair across tenants (fair-queue.ts). One loop, one step at a time,
 * admits waiting requests into free batch rows (a prefill, which also gives each its first token), then advances
 * every running row one token (a decode step), then yields to the event loop so new requests and streamed tokens
 * flow while the batch runs. The queue is bounded: beyond it, submit refuses.
 *
 * How much to prefill per step is the trade between the running streams (a prefill delays their next token) and
 * the waiting ones (each step not admitted is a step added to their first token). A step prefills as many padded
 * prompt tokens as fit in as long as a decode step takes (at the measured speeds; at least `prefillMsPerStep`, at
 * most `prefillTokensPerStep` tokens), so a running stream's gap between tokens at most doubles. A fixed 50 ms, a
 * quarter of a 135M model's decode step on a CPU, admitted about one request per step while two finished: the
 * queue never drained and first tokens waited tens of steps. With nothing running there is nothing to delay, so
 * only the token cap applies. Where prompts cost more than a step can spare (on that CPU a 55-token prompt costs
 * as much as a decode step of 64 rows), the wait bound takes over: whatever the budget, a request that has
 * waited MAX_WAIT_STEPS steps is admitted at the next one (rows and MAX_PREFILL_TOKENS permitting): no request
 * waits longer than that behind later arrivals.
 */
import type { Decoder } from '../engine/decoder.ts';
import { checkRequest, newRow, RunningBatch, type GenerationRequest, type GenerationResult } from '../engine/generate.ts';
import { FairQueue, type Flow } from './fair-queue.ts';
import { NO_SERVING_OBSERVER, type ServingObserver } from './metrics.ts';

export type { Flow } from './fair-queue.ts';

export interface SchedulerOptions {
  /** Rows decoded together. */
  maxBatch: number;
  /** Requests waiting for a row; one more is refused with QueueFullError. */
  maxQueued: number;
  /** Padded prompt tokens prefilled between two decode steps, at most (one request is admitted even if longer). */
  prefillTokensPerStep: number;
  /** Milliseconds of prefill allowed between two decode steps, at least (a decode step's time when that is longer). */
  prefillMsPerStep: number;
}

/** Steps a request may wait while rows are free before it is admitted regardless of the prefill budget. */
export const MAX_WAIT_STEPS = 2;

/**
 * Padded prompt tokens in one prefill, overdue admissions included (a single request is admitted whatever its
 * length): what bounds a prefill's memory (its new keys and values, its activations) and how long it holds the
 * serving thread (onnxruntime-node runs a session on it) when the budget does not: about a second for a 135M
 * model on a 2-core CPU, where 4096 tokens held it four seconds, near the tokenizer processes' deadline.
 */
export const MAX_PREFILL_TOKENS = 1024;

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  maxBatch: 64,
  maxQueued: 1024,
  prefillTokensPerStep: 1024,
  prefillMsPerStep: 50,
};

/** The queue is full: the caller answers 429 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterS: number) {
    super('This backend has more requests waiting than it queues; retry after the Retry-After seconds.');
  }
}

interface Pending {
  req: GenerationRequest;
  flow: Flow;
  /** The scheduler's step count when it was submitted. */
  since: number;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
}

/** An exponential moving average of timings, starting at the first sample (0: none yet). */
function movingAverage(average: number, sample: number): number {
  return average === 0 ? sample : 0.8 * average + 0.2 * sample;
}

/** Requests without a flow share one, so they are still served in arrival order. */
const ANONYMOUS: Flow = { tenant: '' };

export class Scheduler {
  private readonly queue = new FairQueue<Pending>();
  private readonly batch: RunningBatch;
  private readonly waiting = new Map<number, Pending>();
  private readonly opts: SchedulerOptions;
  private nextId = 0;
  private running = false;
  /** Requests taken from the queue whose prefill is running: no longer queued, not yet batch rows. */
  private admitting = 0;
  /** Measured prefill cost, milliseconds per padded token (a moving average); 0 until the first prefill. */
  private msPerPrefillToken = 0;
  /** Measured decode step time in milliseconds (a moving average); 0 until the first decode step. */
  private msPerDecodeStep = 0;
  private stepCount = 0;

  constructor(
    private readonly decoder: Decoder,
    opts: Partial<SchedulerOptions> = {},
    private readonly observer: ServingObserver = NO_SERVING_OBSERVER,
  ) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...opts };
    this.batch = new RunningBatch(decoder, this.opts.maxBatch);
    this.batch.onFinish = (row, reason) => {
      this.waiting.get(row.index)?.resolve({ tokens: row.tokens, finishReason: reason, embedding: row.embedding });
      this.waiting.delete(row.index);
    };
  }

  /** Steps run so far (each an admission, a decode step, or both): the unit of a request's wait. */
  get steps(): number {
    return this.stepCount;
  }

  get maxBatch(): number {
    return this.opts.maxBatch;
  }

  /** Requests waiting for a row. */
  get queued(): number {
    return this.queue.size;
  }

  /** Rows running now (or being prefilled). */
  get batchSize(): number {
    return this.batch.size + this.admitting;
  }

  /** Requests queued or running. */
  get load(): number {
    return this.queue.size + this.batchSize;
  }

  /** Throws QueueFullError unless `count` more requests fit now: in free rows (admitted at the next step) or the queue. */
  checkRoom(count: number): void {
    const free = this.batch.capacity - this.batchSize;
    if (this.queue.size + count > this.opts.maxQueued + free) throw new QueueFullError(1);
  }

  /**
   * Validates and enqueues a request; resolves when it finishes. A request whose signal aborts while it waits
   * leaves the queue at once (resolved as cancelled); a running one leaves the batch at the next step.
   */
  submit(req: GenerationRequest, flow: Flow = ANONYMOUS): Promise<GenerationResult> {
    checkRequest(this.decoder, req);
    this.checkRoom(1);
    if (req.signal?.aborted) return Promise.resolve({ tokens: [], finishReason: 'cancelled' });
    const done = new Promise<GenerationResult>((resolve, reject) => {
      const pending: Pending = { req: this.timed(req), flow, since: this.stepCount, resolve, reject };
      this.queue.push(flow, pending);
      req.signal?.addEventListener('abort', () => {
        if (this.queue.remove(flow, pending)) resolve({ tokens: [], finishReason: 'cancelled' });
      });
    });
    if (!this.running) void this.loop();
    return done;
  }

  /** The request with its token times reported to the observer (time to first token, then between tokens). */
  private timed(req: GenerationRequest): GenerationRequest {
    const submitted = performance.now();
    let last = Number.NaN;
    return {
      ...req,
      onToken: (token) => {
        const now = performance.now();
        if (Number.isNaN(last)) this.observer.firstToken((now - submitted) / 1000);
        else this.observer.nextToken((now - last) / 1000);
        last = now;
        req.onToken?.(token);
      },
    };
  }

  /** Padded prompt tokens this step may prefill: as long as a decode step takes, at the measured speeds. */
  private prefillBudget(): number {
    const cap = this.opts.prefillTokensPerStep;
    if (this.batch.size === 0 || this.msPerPrefillToken === 0) return cap;
    return Math.min(cap, Math.max(this.opts.prefillMsPerStep, this.msPerDecodeStep) / this.msPerPrefillToken);
  }

  /** Whether some waiting request has waited MAX_WAIT_STEPS steps (each tenant's oldest is its head). */
  private overdue(): boolean {
    return this.queue.heads().some((p) => this.stepCount - p.since >= MAX_WAIT_STEPS);
  }

  /** The next requests to prefill: fair order, within the free rows and the step's budget (or past it, for overdue ones). */
  private takeAdmissions(): Pending[] {
    const free = this.batch.capacity - this.batch.size;
    const budget = this.prefillBudget();
    const limit = Math.max(this.opts.prefillTokensPerStep, MAX_PREFILL_TOKENS);
    const taken: Pending[] = [];
    let longest = 0;
    while (taken.length < free) {
      const next = this.queue.peek();
      if (!next) break;
      // Prompts are padded to the longest in one prefill, so its cost is rows × longest.
      const padded = (taken.length + 1) * Math.max(longest, next.req.prompt.length);
      if (taken.length > 0 && (padded > limit || (padded > budget && !this.overdue()))) break;
      this.queue.shift();
      longest = Math.max(longest, next.req.prompt.length);
      taken.push(next);
    }
    return taken;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.size > 0 || this.batch.size > 0) {
        const admitted = this.takeAdmissions();
        if (admitted.length > 0) {
          this.admitting = admitted.length;
          const padded = admitted.length * Math.max(...admitted.map((p) => p.req.prompt.length));
          const started = performance.now();
          try {
            await this.batch.admit(
              admitted.map((p) => {
                const id = this.nextId++;
                this.waiting.set(id, p);
                return newRow(p.req, id);
              }),
            );
          } finally {
            this.admitting = 0;
          }
          const ms = (performance.now() - started) / padded;
          this.msPerPrefillToken = movingAverage(this.msPerPrefillToken, ms);
        }
        if (this.batch.size > 0) {
          const started = performance.now();
          await this.batch.decode();
          this.msPerDecodeStep = movingAverage(this.msPerDecodeStep, performance.now() - started);
        }
        this.stepCount++;
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      // An engine failure fails every request in flight; the next submit starts a fresh loop.
      for (const p of [...this.waiting.values(), ...this.queue.drain()]) p.reject(err);
      this.waiting.clear();
      this.batch.clear();
    } finally {
      this.running = false;
    }
  }
}
