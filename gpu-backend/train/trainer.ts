/**
 * The training loop: epochs of seeded-shuffled batches, gradient accumulation normalised by the number of
 * target tokens in the whole optimizer step (as transformers does), clipping, AdamW with a warm-up schedule,
 * progress events, periodic checkpoints (adapter + optimizer state + trainer state) from which a resumed run
 * continues exactly as an uninterrupted one would, evaluation loss, and cancellation between steps.
 *
 * LoRA training keeps the base frozen and trains PEFT tensors; full training (used to pretrain rankgate's
 * default model) trains every weight of the checkpoint.
 */
import type { ModelFolder } from '../formats/files.ts';
import { DEFAULT_TARGET_MODULES, HYPERPARAMETER_DEFAULTS } from '../../contracts/api/hyperparameters.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { parseLoraConfig, resolveTargets, type LoraTarget } from '../../contracts/formats/peft-config.ts';
import { decodeSafetensors, encodeSafetensors, toFloat32, type Tensor } from '../../contracts/formats/safetensors.ts';
import { rng } from '../engine/sampling.ts';
import { expectedWeightShapes, float32Weights } from '../engine/weights.ts';
import type { RuntimeOptions } from '../engine/runtime.ts';
import { adamwStep, clipGradNorm, newAdamWState, scheduledLr, type AdamWState, type ScheduleKind } from './adamw.ts';
import { Backprop, countTargets, type TokenBatch } from './backprop.ts';
import { makeBatches, shuffled, type EncodedDataset } from './data.ts';
import { initLoraParams, peftFiles, type LoraParams } from './lora-params.ts';

export interface LoraSettings {
  r: number;
  alpha: number;
  targetModules: string[];
  useRslora?: boolean;
}

export interface TrainingConfig {
  /** 'lora' trains an adapter on a frozen base; 'full' trains every weight. */
  mode: 'lora' | 'full';
  lora?: LoraSettings;
  epochs: number;
  batchSize: number;
  gradAccumSteps: number;
  learningRate: number;
  warmupSteps: number;
  schedule: ScheduleKind;
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  maxGradNorm: number;
  maxLength: number;
  seed: number;
  /** Write a checkpoint every this many steps (0: only at the end). */
  checkpointEvery: number;
  /** Evaluate on the validation set every this many steps (0: only at the end). */
  evalEvery: number;
  /** Stop after this many optimizer steps (default: all epochs). */
  maxSteps?: number;
  /** Name recorded as base_model_name_or_path in adapter_config.json. */
  baseModelName: string;
}

/** A fine-tuning job's defaults (contracts/api/hyperparameters.ts), and the Trainer's own for the rest. */
export const TRAINING_DEFAULTS: Omit<TrainingConfig, 'mode' | 'baseModelName'> = {
  lora: { r: HYPERPARAMETER_DEFAULTS.lora_r, alpha: HYPERPARAMETER_DEFAULTS.lora_alpha, targetModules: [...DEFAULT_TARGET_MODULES] },
  epochs: HYPERPARAMETER_DEFAULTS.n_epochs,
  batchSize: HYPERPARAMETER_DEFAULTS.batch_size,
  gradAccumSteps: 1,
  learningRate: HYPERPARAMETER_DEFAULTS.learning_rate,
  warmupSteps: 0,
  schedule: 'linear',
  weightDecay: 0.0,
  maxGradNorm: 1.0,
  maxLength: 512,
  seed: 42,
  checkpointEvery: 0,
  evalEvery: 0,
};

export type TrainingEvent =
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      epoch: number;
      loss: number;
      learningRate: number;
      gradNorm: number;
      tokensPerSecond: number;
      elapsedSeconds: number;
      etaSeconds: number;
    }
  | { type: 'eval'; step: number; evalLoss: number }
  | { type: 'checkpoint'; step: number; files: string[] };

/** Files of a checkpoint or a result: PEFT adapter (or full model) files plus optimizer and trainer state. */
export type Files = Map<string, Uint8Array>;

export interface TrainingResult {
  status: 'succeeded' | 'cancelled';
  step: number;
  trainLoss: number;
  evalLoss: number | null;
  /** The trained adapter (or model) files, as users keep them. */
  files: Files;
}

export interface RunOptions {
  onEvent?: (e: TrainingEvent) => void;
  /** Called with each checkpoint's files; the run waits for it (so a checkpoint is durable before going on). */
  onCheckpoint?: (step: number, files: Files) => Promise<void>;
  /** Checked between steps; an aborted run stops with status 'cancelled'. */
  signal?: AbortSignal;
  /** Files of a checkpoint written by an earlier run of the same job. */
  resumeFrom?: Files;
}

export class Trainer {
  private readonly params: LoraParams;
  private readonly targets: LoraTarget[];
  private readonly backprop: Backprop;
  private readonly optimizer: AdamWState = newAdamWState();
  private readonly stepsPerEpoch: number;
  private epochBatches: { epoch: number; batches: TokenBatch[] } | null = null;

  constructor(
    private readonly model: ModelFolder,
    private readonly config: TrainingConfig,
    private readonly train: EncodedDataset,
    private readonly validation: EncodedDataset | null = null,
    private readonly padId = 0,
    runtime: RuntimeOptions = {},
  ) {
    const cfg = model.config;
    checkConfig(config);
    const weights = float32Weights(cfg, model.weights);
    if (config.mode === 'lora') {
      const l = config.lora!;
      this.targets = resolveTargets(
        parseLoraConfig({ r: l.r, lora_alpha: l.alpha, target_modules: l.targetModules, use_rslora: l.useRslora ?? false }),
        cfg,
      );
      this.params = initLoraParams(cfg, this.targets, config.seed);
      this.backprop = new Backprop(cfg, weights, { kind: 'lora', targets: this.targets }, this.params, runtime);
    } else {
      this.targets = [];
      // Trained in place: copies, so the caller's checkpoint stays as it was.
      this.params = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
      this.backprop = new Backprop(cfg, this.params, { kind: 'full' }, new Map(), runtime);
    }
    this.stepsPerEpoch = Math.ceil(Math.ceil(train.examples.length / config.batchSize) / config.gradAccumSteps);
  }

  get totalSteps(): number {
    const all = this.stepsPerEpoch * this.config.epochs;
    return Math.min(all, this.config.maxSteps ?? all);
  }

  /** The micro-batches of optimizer step `step` (0-based), from that epoch's seeded order. */
  private stepBatches(step: number): TokenBatch[] {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    if (this.epochBatches?.epoch !== epoch) {
      const order = shuffled(this.train.examples.length, rng(this.config.seed * 1009 + epoch));
      this.epochBatches = { epoch, batches: makeBatches(this.train.examples, order, this.config.batchSize, this.padId) };
    }
    const k = step % this.stepsPerEpoch;
    return this.epochBatches.batches.slice(k * this.config.gradAccumSteps, (k + 1) * this.config.gradAccumSteps);
  }

  async run(opts: RunOptions = {}): Promise<TrainingResult> {
    const { onEvent = () => {}, signal } = opts;
    let step = opts.resumeFrom ? this.restore(opts.resumeFrom) : 0;
    const total = this.totalSteps;
    const started = performance.now();
    const firstStep = step;
    let lastLoss = NaN;
    let evalLoss: number | null = null;
    while (step < total) {
      if (signal?.aborted) return { status: 'cancelled', step, trainLoss: lastLoss, evalLoss, files: this.modelFiles() };
      const t0 = performance.now();
      const micro = this.stepBatches(step);
      const targets = micro.reduce((n, b) => n + countTargets(b), 0);
      const grads = new Map<string, Float32Array>();
      let loss = 0;
      for (const batch of micro) {
        const r = await this.backprop.run(batch, 1 / targets);
        loss += r.loss;
        for (const [k, g] of r.grads) {
          const acc = grads.get(k);
          if (!acc) grads.set(k, g);
          else for (let i = 0; i < g.length; i++) acc[i] += g[i];
        }
      }
      const gradNorm = clipGradNorm(grads.values(), this.config.maxGradNorm > 0 ? this.config.maxGradNorm : Infinity);
      const lr = scheduledLr(this.config.learningRate, this.config.schedule, step, total, this.config.warmupSteps);
      adamwStep(
        this.params,
        grads,
        this.optimizer,
        { lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: this.config.weightDecay },
        lr,
        decays,
      );
      step++;
      lastLoss = loss;
      const tokens = micro.reduce((n, b) => n + b.lengths.reduce((a, c) => a + c, 0), 0);
      const elapsed = (performance.now() - started) / 1000;
      onEvent({
        type: 'step',
        step,
        totalSteps: total,
        epoch: step / this.stepsPerEpoch,
        loss,
        learningRate: lr,
        gradNorm,
        tokensPerSecond: tokens / ((performance.now() - t0) / 1000),
        elapsedSeconds: elapsed,
        etaSeconds: (elapsed / (step - firstStep)) * (total - step),
      });
      const last = step === total;
      if (this.validation && (last || (this.config.evalEvery > 0 && step % this.config.evalEvery === 0))) {
        evalLoss = await this.evaluate(this.validation);
        onEvent({ type: 'eval', step, evalLoss });
      }
      if (opts.onCheckpoint && (last || (this.config.checkpointEvery > 0 && step % this.config.checkpointEvery === 0))) {
        const files = this.checkpointFiles(step);
        await opts.onCheckpoint(step, files);
        onEvent({ type: 'checkpoint', step, files: [...files.keys()] });
      }
    }
    return { status: 'succeeded', step, trainLoss: lastLoss, evalLoss, files: this.modelFiles() };
  }

  /** Mean loss per target token over a dataset (no gradients). */
  async evaluate(data: EncodedDataset): Promise<number> {
    const batches = makeBatches(
      data.examples,
      data.examples.map((_, i) => i),
      this.config.batchSize,
      this.padId,
    );
    let sum = 0;
    let count = 0;
    for (const b of batches) {
      const r = await this.backprop.run(b, 1, false);
      sum += r.loss;
      count += r.targets;
    }
    return sum / count;
  }

  /** The adapter as PEFT writes it (LoRA), or model.safetensors (full). */
  modelFiles(): Files {
    const cfg = this.model.config;
    if (this.config.mode === 'full') {
      const tensors: [string, Tensor][] = [...expectedWeightShapes(cfg)].map(([name, shape]) => [
        name,
        { dtype: 'F32', shape, data: this.params.get(name)! },
      ]);
      return new Map([['model.safetensors', encodeSafetensors(tensors, { format: 'pt' })]]);
    }
    const l = this.config.lora!;
    const { config, weights } = peftFiles(cfg, this.targets, this.params, {
      r: l.r,
      loraAlpha: l.alpha,
      targetModules: l.targetModules,
      baseModel: this.config.baseModelName,
      useRslora: l.useRslora,
    });
    return new Map([
      ['adapter_config.json', new TextEncoder().encode(config)],
      ['adapter_model.safetensors', weights],
    ]);
  }

  private checkpointFiles(step: number): Files {
    const files = this.modelFiles();
    const moments: [string, Tensor][] = [];
    for (const [name, m] of this.optimizer.m) {
      moments.push([`exp_avg.${name}`, { dtype: 'F32', shape: [m.length], data: m }]);
      moments.push([`exp_avg_sq.${name}`, { dtype: 'F32', shape: [m.length], data: this.optimizer.v.get(name)! }]);
    }
    files.set('optimizer.safetensors', encodeSafetensors(moments));
    files.set(
      'trainer_state.json',
      new TextEncoder().encode(
        JSON.stringify(
          { step, optimizer_step: this.optimizer.step, total_steps: this.totalSteps, seed: this.config.seed, config: this.config },
          null,
          2,
        ),
      ),
    );
    return files;
  }

  /** Loads parameters and optimizer state from checkpoint files; returns the step to continue from. */
  private restore(files: Files): number {
    const state = JSON.parse(
      new TextDecoder().decode(files.get('trainer_state.json') ?? invalid('bad_checkpoint', 'checkpoint has no trainer_state.json.')),
    ) as { step: number; optimizer_step: number; seed: number };
    if (state.seed !== this.config.seed)
      invalid(
        'bad_checkpoint',
        `checkpoint was written with seed ${state.seed}, this run uses ${this.config.seed}; resume with the job's own settings.`,
      );
    const weightsFile = files.get(this.config.mode === 'full' ? 'model.safetensors' : 'adapter_model.safetensors');
    if (!weightsFile) invalid('bad_checkpoint', 'checkpoint has no weights file.');
    for (const [name, t] of decodeSafetensors(weightsFile).tensors) {
      const p = this.params.get(name);
      if (!p || p.length !== t.data.length) invalid('bad_checkpoint', `checkpoint tensor "${name}" does not fit this run's parameters.`);
      p.set(toFloat32(t));
    }
    for (const [name, t] of decodeSafetensors(
      files.get('optimizer.safetensors') ?? invalid('bad_checkpoint', 'checkpoint has no optimizer.safetensors.'),
    ).tensors) {
      const [kind, ...rest] = name.split('.');
      (kind === 'exp_avg' ? this.optimizer.m : this.optimizer.v).set(rest.join('.'), Float32Array.from(toFloat32(t)));
    }
    this.optimizer.step = state.optimizer_step;
    return state.step;
  }

  async release(): Promise<void> {
    await this.backprop.release();
  }
}

/** HF Trainer's rule: no weight decay on biases and normalisation weights. */
function decays(name: string): boolean {
  return !(name.endsWith('.bias') || name.includes('norm'));
}

function checkConfig(c: TrainingConfig): void {
  const positiveInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) invalid('bad_hyperparameter', `${name} must be a positive integer, got ${v}.`, name);
  };
  positiveInt(c.epochs, 'n_epochs');
  positiveInt(c.batchSize, 'batch_size');
  positiveInt(c.gradAccumSteps, 'gradient_accumulation_steps');
  positiveInt(c.maxLength, 'max_length');
  if (!(c.learningRate > 0 && c.learningRate <= 1))
    invalid('bad_hyperparameter', `learning_rate must be in (0, 1], got ${c.learningRate}.`, 'learning_rate');
  if (c.mode === 'lora' && !c.lora) invalid('bad_hyperparameter', 'LoRA training needs lora settings (r, alpha, target_modules).', 'lora');
}
