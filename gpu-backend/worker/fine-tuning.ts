/**
 * One fine-tuning job, from its claimed spec to a finished adapter: fetch the base model and the datasets,
 * train (resuming from the last checkpoint when an earlier holder's lease expired), report progress and
 * checkpoints, write the PEFT adapter to `<output_prefix>adapter/` and complete. A problem with the user's
 * input (a dataset with bad lines, hyperparameters the model cannot take) fails the job with a message for the
 * user; a stop (cancel, lost lease, shutdown) reports nothing more.
 */
import { InvalidInputError, invalid } from '../../contracts/formats/errors.ts';
import { readModelFolder } from '../formats/files.ts';
import { TextTokenizer } from '../formats/tokenizer.ts';
import { MODEL_FILES, type FolderCache } from '../storage/folder-cache.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { encodeDataset, type EncodedDataset } from '../train/data.ts';
import { Trainer, type Files, type TrainingEvent } from '../train/trainer.ts';
import { EdgeError, isEdgeOutage, type EdgeClient, type FineTuningSpec } from './edge-client.ts';
import { EventReporter } from './event-reporter.ts';
import { errorText, type LeasedTask } from './leased-task.ts';
import { getFiles, putFiles } from './stored-files.ts';
import { trainingConfig } from './training-config.ts';

export interface FineTuningSettings {
  /** Write (and report) a checkpoint every this many optimizer steps; the last step always gets one. */
  checkpointEvery: number;
  /** How often queued events go to the edge. */
  eventsEveryMs: number;
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

async function loadTokenizer(dir: string, spec: FineTuningSpec): Promise<TextTokenizer> {
  try {
    return await TextTokenizer.load(dir);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    return invalid('missing_tokenizer', `base model "${spec.base_model.name}" has no tokenizer.json under "${spec.base_model.storage_prefix}"; training turns text into tokens with it, so add the model's tokenizer files there.`, 'model');
  }
}

async function readDataset(store: ObjectStore, file: { id: string; storage_key: string }, what: string, tok: TextTokenizer, maxLength: number): Promise<EncodedDataset> {
  const text = await store.getText(file.storage_key);
  if (text === null) invalid('file_missing', `the ${what} ${file.id} is no longer in storage; upload it again and create a new job.`, what.replace(' ', '_'));
  return encodeDataset(text, tok, maxLength, what);
}

function metrics(e: Extract<TrainingEvent, { type: 'step' }>) {
  return {
    level: 'info' as const,
    type: 'metrics' as const,
    message: `Step ${e.step}/${e.totalSteps}: training loss=${e.loss.toFixed(4)}`,
    data: {
      step: e.step, total_steps: e.totalSteps, epoch: e.epoch, train_loss: e.loss, learning_rate: e.learningRate, grad_norm: e.gradNorm,
      tokens_per_s: Math.round(e.tokensPerSecond), elapsed_s: Math.round(e.elapsedSeconds), eta_s: Math.round(e.etaSeconds),
    },
  };
}

export async function runFineTuning(spec: FineTuningSpec, task: LeasedTask, deps: WorkerDeps): Promise<Outcome> {
  const { client, store, folders, settings } = deps;
  const events = new EventReporter(client, task, settings.eventsEveryMs);
  const info = (message: string, data?: Record<string, unknown>, level: 'info' | 'warn' = 'info') => events.add({ level, type: 'message', message, ...(data ? { data } : {}) });
  let trainer: Trainer | null = null;
  try {
    const dir = await folders.fetch(spec.base_model.storage_prefix, MODEL_FILES);
    const model = await readModelFolder(dir);
    const tok = await loadTokenizer(dir, spec);
    const config = trainingConfig(spec, model.config, settings.checkpointEvery);
    const train = await readDataset(store, spec.training_file, 'training file', tok, config.maxLength);
    const validation = spec.validation_file ? await readDataset(store, spec.validation_file, 'validation file', tok, config.maxLength) : null;
    for (const [what, data] of [['training file', train], ['validation file', validation]] as const) {
      if (data && data.truncated + data.dropped > 0) info(`${what}: ${data.truncated} examples cut to ${config.maxLength} tokens, ${data.dropped} dropped (nothing left to learn after the cut).`, { truncated: data.truncated, dropped: data.dropped }, 'warn');
    }
    let resumeFrom: Files | undefined;
    if (spec.resume_from) {
      resumeFrom = await getFiles(store, spec.resume_from.storage_prefix);
      if (resumeFrom.size === 0) {
        info(`Checkpoint at step ${spec.resume_from.step} is gone from storage; training starts over.`, undefined, 'warn');
        resumeFrom = undefined;
      }
    }
    trainer = new Trainer(model, config, train, validation);
    info(resumeFrom ? `Resuming at step ${spec.resume_from!.step} of ${trainer.totalSteps} (attempt ${spec.attempt}).` : `Training on ${train.examples.length} examples: ${config.epochs} epochs, ${trainer.totalSteps} steps.`, { total_steps: trainer.totalSteps, examples: train.examples.length });
    if (task.stopped) return 'stopped';

    let trainLoss: number | undefined;
    let validLoss: number | undefined;
    const result = await trainer.run({
      signal: task.signal,
      resumeFrom,
      onEvent: (e) => {
        if (e.type === 'step') {
          trainLoss = e.loss;
          events.add(metrics(e));
        } else if (e.type === 'eval') {
          validLoss = e.evalLoss;
          events.add({ level: 'info', type: 'metrics', message: `Step ${e.step}: validation loss=${e.evalLoss.toFixed(4)}`, data: { step: e.step, valid_loss: e.evalLoss } });
        }
      },
      onCheckpoint: async (step, files) => {
        const prefix = `${spec.output_prefix}checkpoints/step-${step}/`;
        await putFiles(store, prefix, files);
        await task.report(() => client.checkpoint(spec.id, { step, storage_prefix: prefix, ...(trainLoss !== undefined ? { train_loss: trainLoss } : {}), ...(validLoss !== undefined ? { valid_loss: validLoss } : {}) }), REPORT_RETRIES);
      },
    });
    if (result.status === 'cancelled' || task.stopped) return 'stopped';

    await putFiles(store, `${spec.output_prefix}adapter/`, result.files);
    info(`Training finished at step ${result.step}: training loss=${result.trainLoss.toFixed(4)}${result.evalLoss !== null ? `, validation loss=${result.evalLoss.toFixed(4)}` : ''}.`);
    await events.close();
    const trainedTokens = train.examples.reduce((n, ex) => n + ex.ids.length, 0) * config.epochs;
    return (await task.report(() => client.complete('fine_tuning', spec.id, trainedTokens), REPORT_RETRIES)) ? 'succeeded' : 'stopped';
  } catch (err) {
    if (task.stopped) return 'stopped';
    // The edge checked the produced adapter, refused it and failed the job itself (with the reason).
    if (err instanceof EdgeError && err.status === 422) return 'failed';
    // The edge stayed out of reach: the lease will expire, and the next holder resumes from the last checkpoint.
    if (isEdgeOutage(err)) {
      console.error(`backend: fine-tuning ${spec.id} left to its lease: ${errorText(err)}`);
      task.stop('edge_unreachable');
      return 'stopped';
    }
    if (!(err instanceof InvalidInputError)) console.error(`backend: fine-tuning ${spec.id} failed:`, err);
    const error = err instanceof InvalidInputError ? { code: err.code, message: err.message } : { code: 'training_failed', message: `The backend failed while training this job (its log has the details); create the job again, and report ${spec.id} if it keeps failing.` };
    await events.close();
    await task.report(() => client.fail('fine_tuning', spec.id, error), REPORT_RETRIES).catch((e) => console.error(`backend: could not fail ${spec.id}:`, errorText(e)));
    return 'failed';
  } finally {
    task.release();
    await events.close();
    await trainer?.release();
  }
}
