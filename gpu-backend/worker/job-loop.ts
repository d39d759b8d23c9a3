/**
 * Claims jobs of every kind from the edge and runs them: fine-tuning (fine-tuning.ts), `slots` at a time, and
 * merges, reverts and compressions (artifact-job.ts), `artifactSlots` at a time beside them, so a merge that
 * takes seconds never waits behind a training run of hours. A claimed job is leased to this backend until it ends or expires.
 * While the edge is unreachable the loop backs off; on shutdown it stops claiming and stops its jobs without
 * reporting (their leases expire and the next holder resumes from the last checkpoint).
 */
import { JOB_KINDS, renewEveryMs } from '../../contracts/api/jobs.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';
import { runArtifactJob } from './artifact-job.ts';
import { computeInThread } from './compute-thread.ts';
import type { Spec } from './edge-client.ts';
import { runFineTuning, type Outcome, type WorkerDeps } from './fine-tuning.ts';
import type { JobObserver } from '../serve/metrics.ts';
import { errorText, LeasedJob } from './leased-job.ts';
import { quantizedBase } from './quantization.ts';
import { loadBasis } from './revert.ts';
import { baseConfig, loadAdapter, loadMembers } from './stored-adapters.ts';

const ARTIFACT_KINDS: JobKind[] = JOB_KINDS.filter((k) => k !== 'fine_tuning');
/** Merges, reverts and compressions run at once by default (each on a thread of its own). */
const ARTIFACT_SLOTS = 1;

function run(spec: Spec, job: LeasedJob, deps: WorkerDeps): Promise<Outcome> {
  switch (spec.kind) {
    case 'fine_tuning':
      return runFineTuning(spec, job, deps);
    // Inputs are fetched here; the algebra runs on a thread of its own.
    case 'merge':
      return runArtifactJob(spec, job, deps, (phases) =>
        computeInThread(async () => ({ spec, members: await loadMembers(deps.folders, spec, spec.members, phases) }), job.signal, phases),
      );
    case 'revert':
      return runArtifactJob(spec, job, deps, () =>
        computeInThread(async () => ({ spec, ...(await loadBasis(deps.store, spec)) }), job.signal),
      );
    case 'compression':
      return runArtifactJob(spec, job, deps, () =>
        computeInThread(async () => ({ spec, source: await loadAdapter(deps.folders, spec.source, baseConfig(spec)) }), job.signal),
      );
    // Streams the checkpoint matrix by matrix through files, so it runs here rather than on a thread.
    case 'quantization':
      return runArtifactJob(spec, job, deps, () => quantizedBase(spec, deps.folders));
  }
}
const MAX_BACKOFF_MS = 30_000;

export interface JobLoopOptions {
  /** Wait between claims while there is nothing to do. */
  pollMs: number;
  /** Fine-tuning jobs run at once. */
  slots: number;
  /** Merges, reverts and compressions run at once, beside the fine-tuning jobs (default 1). */
  artifactSlots?: number;
  /** The edge's lease length (from the heartbeat answer); leases are renewed four times within it. */
  leaseTtlS: () => number;
  /** Told when jobs start and end and how renewals go (the backend's metrics). */
  observer?: JobObserver;
}

export class JobLoop {
  private readonly running = new Map<string, { job: LeasedJob; done: Promise<Outcome> }>();
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: () => void = () => {
    this.wakePending = true;
  };
  /** A wake that came while no sleep was there to cut short (mid-claim): the next sleep is skipped. */
  private wakePending = false;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly opts: JobLoopOptions,
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  get runningJobs(): number {
    return this.running.size;
  }

  /** The kinds with a free slot here. */
  private claimableKinds(): JobKind[] {
    const training = [...this.running.keys()].filter((key) => key.startsWith('fine_tuning/')).length;
    const artifacts = this.running.size - training;
    return [
      ...(training < this.opts.slots ? (['fine_tuning'] as JobKind[]) : []),
      ...(artifacts < (this.opts.artifactSlots ?? ARTIFACT_SLOTS) ? ARTIFACT_KINDS : []),
    ];
  }

  /** Sleeps `ms`, or less when woken (a job finished, the edge queued one, or shutdown). */
  private sleep(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = () => {
          this.wakePending = true;
        };
        resolve();
      };
    });
  }

  /**
   * The edge queued a job (its wake, contracts/api/jobs.ts JOB_WAKE_PATH): claim now instead of at the next poll.
   * A wake during a claim is kept for after it, since that claim may have run before the job's row was written.
   */
  claimSoon(): void {
    this.wake();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const kinds = this.claimableKinds();
      if (kinds.length === 0) {
        await this.sleep(MAX_BACKOFF_MS);
        continue;
      }
      let spec: Spec | null;
      try {
        spec = await this.deps.client.claim(kinds);
        if (failures > 0) console.log('backend: the edge answers again; claiming jobs.');
        failures = 0;
      } catch (err) {
        if (failures === 0) console.warn(`backend: cannot claim jobs from ${this.deps.client.edgeUrl} (will keep trying):`, errorText(err));
        failures++;
        await this.sleep(Math.min(this.opts.pollMs * 2 ** failures, MAX_BACKOFF_MS));
        continue;
      }
      // A job claimed during shutdown is left to its lease, which expires and frees it for another backend.
      if (this.stopping) break;
      if (spec) this.launch(spec);
      else await this.sleep(this.opts.pollMs);
    }
  }

  private launch(spec: Spec): void {
    const key = `${spec.kind}/${spec.id}`;
    const observer = this.opts.observer;
    const job = new LeasedJob(this.deps.client, spec.kind, spec.id, (held) => observer?.leaseRenewed(spec.kind, held));
    job.keep(renewEveryMs(this.opts.leaseTtlS()));
    observer?.jobStarted(spec.kind);
    console.log(`backend: claimed ${key} (attempt ${spec.attempt}).`);
    const done = run(spec, job, this.deps)
      .catch((err): Outcome => {
        console.error(`backend: ${key} crashed:`, err);
        return 'failed';
      })
      .then((outcome) => {
        console.log(`backend: ${key} ${outcome === 'stopped' ? `stopped (${job.stopReason ?? 'no reason'})` : outcome}.`);
        observer?.jobEnded(spec.kind, outcome !== 'stopped' ? outcome : job.stopReason === 'cancelled' ? 'cancelled' : 'lost');
        return outcome;
      })
      .finally(() => {
        job.release();
        this.running.delete(key);
        this.wake();
      });
    this.running.set(key, { job, done });
  }

  /** The edge's cancel push: stops the job when it runs here. */
  cancel(kind: string, id: string): boolean {
    const entry = this.running.get(`${kind}/${id}`);
    entry?.job.stop('cancelled');
    return entry !== undefined;
  }

  /** Stops claiming, stops every running job, and waits for them to wind down. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    const runs = [...this.running.values()];
    for (const r of runs) r.job.stop('shutdown');
    await Promise.all([this.loopDone, ...runs.map((r) => r.done)]);
  }
}
