/**
 * A job held under a lease: the lease is renewed on a timer, and the work stops (through an AbortSignal) as
 * soon as the edge says so: `cancel_requested` in any answer, a 409 (the lease went to another backend, or
 * the job is finished), the edge's cancel push; or when this backend shuts down or cannot reach the edge.
 */
import type { JobKind } from '../../contracts/api/jobs.ts';
import { EdgeError, isEdgeOutage, type EdgeClient, type State } from './edge-client.ts';

/** Spacing of retried reports. */
const RETRY_DELAY_MS = 3000;

export type StopReason = 'cancelled' | 'lease_lost' | 'shutdown' | 'edge_unreachable';

export class LeasedJob {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  stopReason: StopReason | null = null;

  constructor(
    private readonly client: EdgeClient,
    readonly kind: JobKind,
    readonly id: string,
    /** Told after each renewal whether the lease is still held. */
    private readonly onRenew: (held: boolean) => void = () => {},
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.stopReason !== null;
  }

  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller.abort(reason);
    this.release();
  }

  /** Renews every `everyMs` until the job ends; a renewal that fails for other reasons is retried next time. */
  keep(everyMs: number): void {
    this.timer = setInterval(
      () =>
        void this.report(() => this.client.renew(this.kind, this.id)).then(
          (state) => {
            if (state !== null) this.onRenew(true);
            else if (this.stopReason === 'lease_lost') this.onRenew(false);
          },
          (err) => console.warn(`backend: renewing ${this.kind} ${this.id} failed (will retry):`, errorText(err)),
        ),
      everyMs,
    );
    this.timer.unref();
  }

  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Makes an edge call on the job's behalf and reads the job state it answers with. A cancel or a 409 stops
   * the job; the call then resolves to null. A call that does not reach the edge (or meets a 5xx) is tried
   * again `retries` times, a few seconds apart; other failures are thrown to the caller.
   */
  async report(call: () => Promise<State>, retries = 0): Promise<State | null> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) return null;
      try {
        const state = await call();
        if (state.cancel_requested) this.stop('cancelled');
        return state;
      } catch (err) {
        if (err instanceof EdgeError && err.jobGone) {
          this.stop(err.code === 'task_cancelled' ? 'cancelled' : 'lease_lost');
          return null;
        }
        if (!isEdgeOutage(err) || attempt >= retries) throw err;
        console.warn(`backend: reaching the edge for ${this.kind} ${this.id} failed (retrying):`, errorText(err));
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      }
    }
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
