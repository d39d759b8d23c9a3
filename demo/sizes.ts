/**
 * How much the demo trains and evaluates. The full sizes fit in about ten minutes on 2 cores with one training
 * slot (the jobs run one after another); `--quick` trades accuracy for a run of a few minutes.
 */
export interface DemoSizes {
  /** Training examples per task (one epoch). */
  trainExamples: number;
  batchSize: number;
  learningRate: number;
  /** Held-out examples per task, for every variant. */
  heldOut: number;
}

export const FULL: DemoSizes = { trainExamples: 3072, batchSize: 8, learningRate: 0.004, heldOut: 50 };
export const QUICK: DemoSizes = { trainExamples: 2048, batchSize: 8, learningRate: 0.004, heldOut: 20 };

/** Four of the default model's tasks: the demo's adapters. */
export const DEMO_TASKS = ['date to us', 'larger', 'remove vowels', 'acronym'] as const;

/** Every adapter trains the same LoRA: rank 8 on all seven projections, as the default model's own adapters. */
export const LORA = {
  lora_r: 8,
  lora_alpha: 16,
  target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
} as const;

/** Greedy completions long enough for every task's answer ("12/31/2030" and an end of sequence). */
export const MAX_TOKENS = 24;
