/**
 * Claims tasks from the edge and runs them, `slots` at a time. Only fine-tuning is claimed: nothing here does
 * merges, compressions or reverts yet, and a claimed task is leased to this backend until it ends or expires.
 * While the edge is unreachable the loop backs off; on shutdown it stops claiming and stops its tasks without
 * reporting (their leases expire and the next holder resumes from the last checkpoint).
 */
import type { Kind, Spec } from './edge-client.ts';
import { runFineTuning, type Outcome, type WorkerDeps } from './fine-tuning.ts';
import { errorText, LeasedTask } from './leased-job.ts';

const KINDS: Kind[] = ['fine_tuning'];
const MAX_BACKOFF_MS = 30_000;

export interface TaskLoopOptions {
  /** Wait between claims while there is nothing to do. */
  pollMs: number;
  /** Tasks run at once. */
  slots: number;
  /** The edge's lease length (from the heartbeat answer); leases are renewed four times within it. */
  leaseTtlS: () => number;
}

export class TaskLoop {
  private readonly running = new Map<string, { task: LeasedTask; done: Promise<Outcome> }>();
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: () => void = () => {};

  constructor(
    private readonly deps: WorkerDeps,
    private readonly opts: TaskLoopOptions,
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  get runningTasks(): number {
    return this.running.size;
  }

  /** Sleeps `ms`, or less when woken (a task finished, or shutdown). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (this.running.size >= this.opts.slots) {
        await this.sleep(MAX_BACKOFF_MS);
        continue;
      }
      let spec: Spec | null;
      try {
        spec = await this.deps.client.claim(KINDS);
        if (failures > 0) console.log('backend: the edge answers again; claiming tasks.');
        failures = 0;
      } catch (err) {
        if (failures === 0) console.warn(`backend: cannot claim tasks from ${this.deps.client.edgeUrl} (will keep trying):`, errorText(err));
        failures++;
        await this.sleep(Math.min(this.opts.pollMs * 2 ** failures, MAX_BACKOFF_MS));
        continue;
      }
      // A task claimed during shutdown is left to its lease, which expires and frees it for another backend.
      if (this.stopping) break;
      if (spec) this.launch(spec);
      else await this.sleep(this.opts.pollMs);
    }
  }

  private launch(spec: Spec): void {
    const key = `${spec.kind}/${spec.id}`;
    const task = new LeasedTask(this.deps.client, spec.kind, spec.id);
    task.keep(Math.max(1000, Math.min((this.opts.leaseTtlS() * 1000) / 4, 30_000)));
    console.log(`backend: claimed ${key} (attempt ${spec.attempt}).`);
    const run = spec.kind === 'fine_tuning' ? runFineTuning(spec, task, this.deps) : Promise.resolve<Outcome>('stopped');
    const done = run
      .catch((err): Outcome => {
        console.error(`backend: ${key} crashed:`, err);
        return 'failed';
      })
      .then((outcome) => {
        console.log(`backend: ${key} ${outcome === 'stopped' ? `stopped (${task.stopReason ?? 'no reason'})` : outcome}.`);
        return outcome;
      })
      .finally(() => {
        task.release();
        this.running.delete(key);
        this.wake();
      });
    this.running.set(key, { task, done });
  }

  /** The edge's cancel push: stops the task when it runs here. */
  cancel(kind: string, id: string): boolean {
    const entry = this.running.get(`${kind}/${id}`);
    entry?.task.stop('cancelled');
    return entry !== undefined;
  }

  /** Stops claiming, stops every running task, and waits for them to wind down. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    const runs = [...this.running.values()];
    for (const r of runs) r.task.stop('shutdown');
    await Promise.all([this.loopDone, ...runs.map((r) => r.done)]);
  }
}
