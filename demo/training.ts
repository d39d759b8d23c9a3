/**
 * One adapter per task, trained through the API: the task's JSONL uploaded (POST /v1/files), a fine-tuning job
 * started (POST /v1/fine_tuning/jobs), then followed with the CLI's progress bar (`rankgate jobs watch`). A job
 * of an earlier run, found by its suffix, is followed or reused instead of starting another.
 */
import { type ApiClient, type Schemas, unwrap } from '../cli/api.ts';
import { watchJob } from '../cli/commands/jobs.ts';
import { CliError } from '../cli/errors.ts';
import { type TaskData, jsonl } from './datasets.ts';
import { jobCheckpoints, jobEvents } from './listing.ts';
import { type DemoSizes, LORA } from './sizes.ts';

type Job = Schemas['FineTuningJob'];

export const BASE_MODEL = 'rankgate-tiny';

export interface TrainedAdapter {
  task: string;
  job: Job;
  /** `<base>:<adapter>`, what inference calls name. */
  model: string;
  /** The job's metrics events (step, train_loss, tokens_per_s, elapsed_s), and its checkpoints' losses at steps no event has. */
  steps: Record<string, unknown>[];
}

/** The job's suffix names how many lines it trains on too, so a job of other sizes (--quick) never stands in for this one. */
export const jobSuffix = (data: TaskData) => `demo-${data.slug.replace(/_/g, '-')}-${data.train.length}`;

async function uploadTrainingFile(api: ApiClient, data: TaskData): Promise<string> {
  const file = unwrap(
    await api.POST('/v1/files', {
      body: { file: `${data.slug}.jsonl`, purpose: 'fine-tune' },
      bodySerializer: (form) => {
        const body = new FormData();
        body.set('purpose', form.purpose);
        body.set('file', new File([jsonl(data.train)], form.file));
        return body;
      },
    }),
    'uploading the training file',
  );
  return file.id;
}

/** The earlier run's job for this suffix when it succeeded or is still going; otherwise a new one. */
export async function startJob(
  api: ApiClient,
  data: TaskData,
  sizes: DemoSizes,
  suffix: string,
  jobs: Job[],
): Promise<{ job: Job; reused: boolean }> {
  const earlier = jobs.find((j) => j.suffix === suffix && j.model.endsWith(BASE_MODEL) && !['failed', 'cancelled'].includes(j.status));
  if (earlier) return { job: earlier, reused: true };
  const trainingFile = await uploadTrainingFile(api, data);
  const job = unwrap(
    await api.POST('/v1/fine_tuning/jobs', {
      body: {
        model: BASE_MODEL,
        training_file: trainingFile,
        suffix,
        seed: 7,
        hyperparameters: {
          n_epochs: 1,
          batch_size: sizes.batchSize,
          learning_rate: sizes.learningRate,
          ...LORA,
          target_modules: [...LORA.target_modules],
        },
      },
    }),
    'starting the fine-tuning job',
  );
  return { job, reused: false };
}

/** Follows the job to its end (progress bar), then reads its whole event log for the report. */
export async function followJob(api: ApiClient, task: string, id: string): Promise<TrainedAdapter> {
  const code = await watchJob(api, id, { interval: 1000 });
  if (code !== 0) throw new CliError(`the job for ${task} did not succeed`);
  const job = unwrap(await api.GET('/v1/fine_tuning/jobs/{id}', { params: { path: { id } } }), 'reading the job');
  const steps = (await jobEvents(api, id))
    .filter((e) => e.type === 'metrics' && typeof e.data?.train_loss === 'number')
    .map((e) => e.data!);
  // Checkpoints carry the loss at their step too: they fill the curve where events never reached the edge.
  const seen = new Set(steps.map((s) => s.step));
  for (const c of await jobCheckpoints(api, id))
    if (typeof c.metrics.train_loss === 'number' && !seen.has(c.step_number))
      steps.push({ step: c.step_number, train_loss: c.metrics.train_loss });
  return { task, job, model: job.fine_tuned_model!, steps };
}
