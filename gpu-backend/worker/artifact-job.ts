/**
 * One merge, revert or compression job, from its claimed spec to a published artifact and the edge's verdict.
 * The work is a pure function of the spec, so a job re-claimed after its lease expired simply runs again and
 * writes the same files (idempotent). A problem with the user's input fails the job with a message for the
 * user; a stop (cancel, lost lease, shutdown) reports nothing more.
 */
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import type { ArtifactLayout } from '../../contracts/formats/job-artifacts.ts';
import { publishArtifact, unpublish, type ArtifactFiles } from './artifact-files.ts';
import {
  EdgeError,
  isEdgeOutage,
  type CompressionSpec,
  type JobResult,
  type MergeSpec,
  type QuantizationSpec,
  type RevertSpec,
} from './edge-client.ts';
import type { Outcome, WorkerDeps } from './fine-tuning.ts';
import { JobPhases, type PhaseTimes } from './job-phases.ts';
import { errorText, type LeasedJob } from './leased-job.ts';

export type ArtifactSpec = MergeSpec | RevertSpec | CompressionSpec | QuantizationSpec;

/** What a job made: its files (published in this order, then the manifest) and what it measured. */
export interface Built {
  layout: ArtifactLayout;
  files: ArtifactFiles;
  result?: JobResult;
  /** One line for the backend's log. */
  summary: string;
  /** Where the compute thread's time went (job-phases.ts). */
  phases?: PhaseTimes;
}

/** The final word is retried through short edge outages; a longer one lets the lease expire (the next holder redoes the job). */
const REPORT_RETRIES = 5;

const WHAT: Record<ArtifactSpec['kind'], string> = {
  merge: 'merging',
  revert: 'reverting this task',
  compression: 'compressing',
  quantization: 'quantizing the base model',
};

export async function runArtifactJob(
  spec: ArtifactSpec,
  job: LeasedJob,
  deps: WorkerDeps,
  build: (phases: JobPhases) => Promise<Built>,
): Promise<Outcome> {
  const key = `${spec.kind}/${spec.id}`;
  const phases = new JobPhases();
  try {
    await unpublish(deps.store, spec.output_prefix);
    phases.mark('unpublish');
    const built = await build(phases);
    if (job.stopped) return 'stopped';
    await publishArtifact(deps.store, spec.output_prefix, spec.id, built.layout, built.files, job.signal);
    phases.mark('publish');
    if (job.stopped) return 'stopped';
    console.log(`backend: ${key} published (${built.summary}).`);
    const state = await job.report(() => deps.client.complete(spec.kind, spec.id, { result: built.result }), REPORT_RETRIES);
    phases.mark('complete');
    console.log(`backend: ${key} ${phases}`);
    return state ? 'succeeded' : 'stopped';
  } catch (err) {
    if (job.stopped) return 'stopped';
    // The edge checked the artifact, refused it and failed the job itself, with the reason.
    if (err instanceof EdgeError && err.status === 422) return 'failed';
    if (isEdgeOutage(err)) {
      console.error(`backend: ${key} left to its lease: ${errorText(err)}`);
      job.stop('edge_unreachable');
      return 'stopped';
    }
    const error =
      err instanceof InvalidInputError
        ? { code: err.code, message: err.message }
        : {
            code: `${spec.kind}_failed`,
            message: `The backend failed while ${WHAT[spec.kind]} (its log has the details); create the ${spec.kind} again, and report ${spec.id} if it keeps failing.`,
          };
    if (!(err instanceof InvalidInputError)) console.error(`backend: ${key} failed:`, err);
    await job
      .report(() => deps.client.fail(spec.kind, spec.id, error), REPORT_RETRIES)
      .catch((e) => console.error(`backend: could not fail ${key}:`, errorText(e)));
    return 'failed';
  }
}
