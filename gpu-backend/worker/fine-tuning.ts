/**
 * One fine-tuning job, from its claimed spec to a finished adapter: fetch the base model and the datasets,
 * train (resuming from the last checkpoint when an earlier holder's lease expired), report progress and
 * checkpoints, write the PEFT adapter to `<output_prefix>adapter/` and complete. A problem with the user's
 * input (a dataset with bad lines, hyperparameters the model cannot take) fails the job with a message for the
 * user; a stop (cancel, lost lease, shutdown) reports nothing more.
 */
import { InvalidInputError, invalid } from '../../contracts/formats/errors.ts';
import { readModelFolder } from '../formats/files.ts';
import { ServedTokenizer } from '../formats/served-tokenizer.ts';
import type { TokenizerLimits } from '../formats/tokenizer-sandbox.ts';
import { MODEL_FILES, type FolderCache } from '../storage/folder-cache.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { encodeDataset, type EncodedDataset } from '../train/data.ts';
import { Trainer, type Files, type TrainingEvent } from '../train/trainer.ts';
import { EdgeError, isEdgeOutage, type EdgeClient, type FineTuningSpec } from './edge-client.ts';
import { EventReporter } from './event-reporter.ts';
import { errorText, type LeasedJob } from './leased-job.ts';
import { getFiles, putFiles } from './stored-files.ts';
import { trainingConfig } from './training-config.ts';

export interface FineTuningSettings {
  /** Write (and report) a checkpoint every this many optimizer steps; the last step always gets one. */
  checkpointEvery: number;
  /** How often queued events go to the edge. */
  eventsEveryMs: number;
  /** The base model's tokenizer and chat template run in a sandboxed process with these limits, as in serving. */
  tokenizerLimits: TokenizerLimits;
}

export interface WorkerDeps {
  client: EdgeClient;
  store: ObjectStore;
  folders: FolderCache;
  settings: FineTuningSettings;
}

export type Outcome = 'succeeded' | 'failed' | 'stopped';

/**
 * Checkpoint reports and the final word are retried through short edge outages; a longer one lets the lease
 * expire, and the next holder resumes from the last checkpoint.
 */
const REPORT_RETRIES = 5;

async function loadTokenizer(dir: string, spec: FineTuningSpec, limits: TokenizerLimits): Promise<ServedTokenizer> {
  const tok = await ServedTokenizer.load(dir, limits);
  if (tok) return tok;
  return invalid(
    'missing_tokenizer',
    `base model "${spec.base_model.name}" has no tokenizer.json under "${spec.base_model.storage_prefix}"; training turns text into tokens with it, so add the model's tokenizer files there.`,
    'model',
  );
}

async function readDataset(
  store: ObjectStore,
  file: { id: string; storage_key: string },
  what: string,
  tok: ServedTokenizer,
  maxLength: number,
): Promise<EncodedDataset> {
  const text = await store.getText(file.storage_key);
  if (text === null)
    invalid(
      'file_missing',
      `the ${what} ${file.id} is no longer in storage; upload it again and create a new job.`,
      what.replace(' ', '_'),
    );
  return encodeDataset(text, tok, maxLength, what);
}

function metrics(e: Extract<TrainingEvent, { type: 'step' }>) {
  return {
    level: 'info' as const,
    type: 'metrics' as const,
    message: `Step ${e.step}/${e.totalSteps}: training loss=${e.loss.toFixed(4)}`,
    data: {
      step: e.step,
      total_steps: e.totalSteps,
      epoch: e.epoch,
      train_loss: e.loss,
      learning_rate: e.learningRate,
      grad_norm: e.gradNorm,
      tokens_per_s: Math.round(e.tokensPerSecond),
      elapsed_s: Math.round(e.elapsedSeconds),
      eta_s: Math.round(e.etaSeconds),
    },
  };
}

function info(events: EventReporter, message: string, data?: Record<string, unknown>, level: 'info' | 'warn' = 'info'): void {
  events.add({ level, type: 'message', message, ...(data ? { data } : {}) });
}

/** How a run ended, before the edge is told. */
type Ending =
  | { kind: 'trained'; trainedTokens: number }
  | { kind: 'stopped' }
  /** The edge checked the produced adapter, refused it and failed the job itself (with the reason). */
  | { kind: 'refused' }
  | { kind: 'failed'; error: { code: string; message: string } };

/**
 * Trains, then gives the edge the last events and the final word. The loop that claimed the job keeps and
 * releases its lease; this closes the event reporter, once, before the final word.
 */
export async function runFineTuning(spec: FineTuningSpec, job: LeasedJob, deps: WorkerDeps): Promise<Outcome> {
  const events = new EventReporter(deps.client, job, deps.settings.eventsEveryMs);
  const ending = await trainAdapter(spec, job, deps, events).catch((err: unknown) => endingOf(err, spec, job));
  await events.close();
  return tellTheEdge(ending, spec, job, deps.client);
}

/** From the claimed spec to the adapter's files in storage. */
async function trainAdapter(spec: FineTuningSpec, job: LeasedJob, deps: WorkerDeps, events: EventReporter): Promise<Ending> {
  const inputs = await readInputs(spec, deps, events);
  const { config, train } = inputs;
  const trainer = new Trainer(inputs.model, config, train, inputs.validation);
  try {
    const resuming = inputs.resumeFrom
      ? `Resuming at step ${spec.resume_from!.step} of ${trainer.totalSteps} (attempt ${spec.attempt}).`
      : null;
    info(events, resuming ?? `Training on ${train.examples.length} examples: ${config.epochs} epochs, ${trainer.totalSteps} steps.`, {
      total_steps: trainer.totalSteps,
      examples: train.examples.length,
    });
    if (job.stopped) return { kind: 'stopped' };
    const result = await trainer.run({ signal: job.signal, resumeFrom: inputs.resumeFrom, ...progressReports(spec, job, deps, events) });
    if (result.status === 'cancelled' || job.stopped) return { kind: 'stopped' };
    await putFiles(deps.store, `${spec.output_prefix}adapter/`, result.files);
    const validation = result.evalLoss !== null ? `, validation loss=${result.evalLoss.toFixed(4)}` : '';
    info(events, `Training finished at step ${result.step}: training loss=${result.trainLoss.toFixed(4)}${validation}.`);
    return { kind: 'trained', trainedTokens: train.examples.reduce((n, ex) => n + ex.ids.length, 0) * config.epochs };
  } finally {
    await trainer.release();
  }
}

/** The base model, its tokenizer, the training settings, the datasets, and the checkpoint to resume from. */
async function readInputs(spec: FineTuningSpec, deps: WorkerDeps, events: EventReporter) {
  const dir = await deps.folders.fetch(spec.base_model.storage_prefix, MODEL_FILES);
  const model = await readModelFolder(dir);
  const config = trainingConfig(spec, model.config, deps.settings.checkpointEvery);
  const tok = await loadTokenizer(dir, spec, deps.settings.tokenizerLimits);
  let train: EncodedDataset;
  let validation: EncodedDataset | null;
  try {
    train = await readDataset(deps.store, spec.training_file, 'training file', tok, config.maxLength);
    validation = spec.validation_file
      ? await readDataset(deps.store, spec.validation_file, 'validation file', tok, config.maxLength)
      : null;
  } finally {
    // Needed only to encode the datasets: its process goes now.
    await tok.close();
  }
  for (const [what, data] of [
    ['training file', train],
    ['validation file', validation],
  ] as const) {
    if (data && data.truncated + data.dropped > 0) {
      const message = `${what}: ${data.truncated} examples cut to ${config.maxLength} tokens, ${data.dropped} dropped (nothing left to learn after the cut).`;
      info(events, message, { truncated: data.truncated, dropped: data.dropped }, 'warn');
    }
  }
  return { model, config, train, validation, resumeFrom: await readCheckpoint(spec, deps.store, events) };
}

async function readCheckpoint(spec: FineTuningSpec, store: ObjectStore, events: EventReporter): Promise<Files | undefined> {
  if (!spec.resume_from) return undefined;
  const files = await getFiles(store, spec.resume_from.storage_prefix);
  if (files.size > 0) return files;
  info(events, `Checkpoint at step ${spec.resume_from.step} is gone from storage; training starts over.`, undefined, 'warn');
  return undefined;
}

/** Metrics events for each step and evaluation; each checkpoint stored, then reported with the latest losses. */
function progressReports(spec: FineTuningSpec, job: LeasedJob, deps: WorkerDeps, events: EventReporter) {
  let trainLoss: number | undefined;
  let validLoss: number | undefined;
  return {
    onEvent: (e: TrainingEvent) => {
      if (e.type === 'step') {
        trainLoss = e.loss;
        events.add(metrics(e));
      } else if (e.type === 'eval') {
        validLoss = e.evalLoss;
        events.add({
          level: 'info',
          type: 'metrics',
          message: `Step ${e.step}: validation loss=${e.evalLoss.toFixed(4)}`,
          data: { step: e.step, valid_loss: e.evalLoss },
        });
      }
    },
    onCheckpoint: async (step: number, files: Files) => {
      const prefix = `${spec.output_prefix}checkpoints/step-${step}/`;
      await putFiles(deps.store, prefix, files);
      const losses = {
        ...(trainLoss !== undefined ? { train_loss: trainLoss } : {}),
        ...(validLoss !== undefined ? { valid_loss: validLoss } : {}),
      };
      await job.report(() => deps.client.checkpoint(spec.id, { step, storage_prefix: prefix, ...losses }), REPORT_RETRIES);
    },
  };
}

/** What a failure means for the job: the user's mistake, the edge's refusal, a stop, or our own failure. */
function endingOf(err: unknown, spec: FineTuningSpec, job: LeasedJob): Ending {
  if (job.stopped) return { kind: 'stopped' };
  if (err instanceof EdgeError && err.status === 422) return { kind: 'refused' };
  // The edge stayed out of reach: the lease will expire, and the next holder resumes from the last checkpoint.
  if (isEdgeOutage(err)) {
    console.error(`backend: fine-tuning ${spec.id} left to its lease: ${errorText(err)}`);
    job.stop('edge_unreachable');
    return { kind: 'stopped' };
  }
  if (err instanceof InvalidInputError) return { kind: 'failed', error: { code: err.code, message: err.message } };
  console.error(`backend: fine-tuning ${spec.id} failed:`, err);
  const message = `The backend failed while training this job (its log has the details); create the job again, and report ${spec.id} if it keeps failing.`;
  return { kind: 'failed', error: { code: 'training_failed', message } };
}

/** Completes or fails the job at the edge; a completion the edge does not take ends like any other failure. */
async function tellTheEdge(ending: Ending, spec: FineTuningSpec, job: LeasedJob, client: EdgeClient): Promise<Outcome> {
  if (ending.kind === 'trained') {
    const { trainedTokens } = ending;
    try {
      return (await job.report(() => client.complete('fine_tuning', spec.id, { trainedTokens }), REPORT_RETRIES)) ? 'succeeded' : 'stopped';
    } catch (err) {
      ending = endingOf(err, spec, job);
    }
  }
  if (ending.kind === 'stopped') return 'stopped';
  if (ending.kind === 'failed') {
    const { error } = ending;
    await job
      .report(() => client.fail('fine_tuning', spec.id, error), REPORT_RETRIES)
      .catch((e) => console.error(`backend: could not fail ${spec.id}:`, errorText(e)));
  }
  return 'failed';
}
