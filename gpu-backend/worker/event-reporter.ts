/**
 * A fine-tuning job's events, sent to the edge in batches: every `everyMs`, and at most 100 per call (the
 * edge's limit), so a fast run does not make one call per step. Each answer carries the job state, so a
 * user's cancel is noticed here too. Events the edge cannot take now wait for the next flush (beyond a bound
 * the oldest are dropped): progress reports never stop the training they describe.
 */
import { EVENTS_REPORT_MAX_BYTES } from '../../contracts/api/internal-api.ts';
import { EdgeError, type EdgeClient, type JobEvent } from './edge-client.ts';
import { errorText, type LeasedJob } from './leased-job.ts';

const MAX_PER_CALL = 100;
/** Room left in a report for its envelope (backend_id, brackets). */
const ENVELOPE_BYTES = 512;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** The first events that fit in one report: at most MAX_PER_CALL, and within the edge's byte limit. */
function nextBatch(queue: JobEvent[]): JobEvent[] {
  let bytes = ENVELOPE_BYTES;
  let n = 0;
  while (n < Math.min(queue.length, MAX_PER_CALL)) {
    bytes += jsonBytes(queue[n]) + 1;
    if (bytes > EVENTS_REPORT_MAX_BYTES && n > 0) break;
    n++;
  }
  return queue.slice(0, n);
}
/** Undelivered events kept while the edge is unreachable; older ones are dropped first. */
const MAX_QUEUED = 1000;

export class EventReporter {
  private queue: JobEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: EdgeClient,
    private readonly job: LeasedJob,
    everyMs: number,
  ) {
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  add(event: JobEvent): void {
    this.queue.push(event);
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
  }

  /** Sends everything queued so far (one flush at a time, in order). */
  flush(): Promise<void> {
    this.sending = this.sending.then(() => this.send());
    return this.sending;
  }

  private async send(): Promise<void> {
    while (this.queue.length > 0 && !this.job.stopped) {
      const batch = nextBatch(this.queue);
      try {
        await this.job.report(() => this.client.events(this.job.id, batch));
      } catch (err) {
        if (err instanceof EdgeError && err.status === 400) {
          // Sending the same events again would be refused again; progress reports never block training.
          console.warn(`backend: the edge refused events of ${this.job.id}; dropping them:`, errorText(err));
          this.queue.splice(0, batch.length);
          continue;
        }
        console.warn(`backend: reporting events of ${this.job.id} failed (will retry):`, errorText(err));
        return;
      }
      this.queue.splice(0, batch.length);
    }
  }

  /** Stops the timer after a last flush. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
