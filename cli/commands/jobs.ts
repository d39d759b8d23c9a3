/**
 * `rankgate jobs create|watch|cancel`: fine-tuning jobs. watch follows the job's events (newest first in the
 * API, read back to the last one seen) and its status until it ends: messages as lines, metrics as the
 * progress bar; it exits 0 when the job succeeded and 1 when it failed or was cancelled.
 */
import { type ApiClient, type Schemas, unwrap } from '../api.ts';
import { CliError } from '../errors.ts';
import { printJson } from '../output.ts';
import { ProgressPrinter, progressLine, stepMetrics } from '../progress.ts';

type Hyperparameters = NonNullable<Schemas['CreateFineTuningJobRequest']['hyperparameters']>;
type Job = Schemas['FineTuningJob'];
type JobEvent = Schemas['FineTuningEvent'];

export interface CreateJobOptions {
  model: string;
  trainingFile: string;
  validationFile?: string;
  suffix?: string;
  seed?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  loraR?: number;
  loraAlpha?: number;
  targetModules?: Hyperparameters['target_modules'];
  watch?: boolean;
  interval: number;
}

export async function createJob(api: ApiClient, opts: CreateJobOptions): Promise<number> {
  const hyperparameters: Hyperparameters = {
    n_epochs: opts.epochs,
    batch_size: opts.batchSize,
    learning_rate: opts.learningRate,
    lora_r: opts.loraR,
    lora_alpha: opts.loraAlpha,
    target_modules: opts.targetModules,
  };
  const given = Object.fromEntries(Object.entries(hyperparameters).filter(([, v]) => v !== undefined));
  const job = unwrap(
    await api.POST('/v1/fine_tuning/jobs', {
      body: {
        model: opts.model,
        training_file: opts.trainingFile,
        validation_file: opts.validationFile,
        suffix: opts.suffix,
        seed: opts.seed,
        hyperparameters: Object.keys(given).length ? given : undefined,
      },
    }),
    'creating the job',
  );
  printJson(job);
  return opts.watch ? watchJob(api, job.id, { interval: opts.interval }) : 0;
}

export async function cancelJob(api: ApiClient, id: string): Promise<void> {
  printJson(unwrap(await api.POST('/v1/fine_tuning/jobs/{id}/cancel', { params: { path: { id } } }), 'cancelling the job'));
}

const ENDED: Job['status'][] = ['succeeded', 'failed', 'cancelled'];

/** Events not seen yet, oldest first: pages are read (newest first) until one holds an event already seen. */
async function newEvents(api: ApiClient, id: string, seen: Set<string>): Promise<JobEvent[]> {
  const fresh: JobEvent[] = [];
  for (let after: string | undefined; ; ) {
    const page = unwrap(
      await api.GET('/v1/fine_tuning/jobs/{id}/events', { params: { path: { id }, query: { limit: 100, after } } }),
      "reading the job's events",
    );
    const unseen = page.data.filter((e) => !seen.has(e.id));
    fresh.push(...unseen);
    if (unseen.length < page.data.length || !page.has_more || !page.last_id) break;
    after = page.last_id;
  }
  for (const e of fresh) seen.add(e.id);
  return fresh.reverse();
}

export async function watchJob(api: ApiClient, id: string, opts: { interval: number }): Promise<number> {
  const printer = new ProgressPrinter();
  const seen = new Set<string>();
  for (;;) {
    // Status first: events written before a job ended are all listed once it has.
    const job = unwrap(await api.GET('/v1/fine_tuning/jobs/{id}', { params: { path: { id } } }), 'reading the job');
    for (const e of await newEvents(api, id, seen)) {
      const metrics = e.type === 'metrics' ? stepMetrics(e.data) : null;
      if (metrics) printer.bar(progressLine(metrics));
      else printer.line(`${e.level === 'info' ? '' : `${e.level}: `}${e.message}`);
    }
    if (ENDED.includes(job.status)) {
      printer.end();
      return finished(job);
    }
    await new Promise((r) => setTimeout(r, opts.interval));
  }
}

function finished(job: Job): number {
  if (job.status === 'succeeded') {
    process.stdout.write(`succeeded: ${job.fine_tuned_model} (${job.trained_tokens ?? 0} trained tokens)\n`);
    return 0;
  }
  if (job.status === 'failed')
    throw new CliError(`job ${job.id} failed: ${job.error ? `${job.error.message} (${job.error.code})` : 'no reason given'}`);
  throw new CliError(`job ${job.id} was cancelled`);
}
