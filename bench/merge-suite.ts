/**
 * The merge benchmark's task suite: the embedded default model rankgate-tiny, its six task adapters and their
 * held-out examples, and the one measurement every method goes through: a variant (one adapter per task, or
 * none) → greedy exact-match accuracy per task, as `exactMatch` (gpu-backend/train/evaluate.ts) defines it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { readAdapterFolder, readModelFolder, type ModelFolder } from '../gpu-backend/formats/files.ts';
import { TextTokenizer } from '../gpu-backend/formats/tokenizer.ts';
import { exactMatch, type EvalExample } from '../gpu-backend/train/evaluate.ts';

export const MODEL_DIR = join(import.meta.dirname, '..', 'models', 'rankgate-tiny');
export const BASE_MODEL = 'rankgate-tiny';

export interface Task {
  name: string;
  adapter: LoraAdapter;
  test: EvalExample[];
}

export interface Suite {
  base: ModelFolder;
  tok: TextTokenizer;
  tasks: Task[];
}

/** The base, its tokenizer and every task that has an adapter, with the first `examples` lines of its test set. */
export async function loadSuite(examples: number): Promise<Suite> {
  const base = await readModelFolder(join(MODEL_DIR, 'base'));
  const tok = await TextTokenizer.load(join(MODEL_DIR, 'base'));
  const names = (await readdir(join(MODEL_DIR, 'adapters'))).sort();
  const tasks: Task[] = [];
  for (const name of names) {
    const adapter = await readAdapterFolder(join(MODEL_DIR, 'adapters', name), base.config);
    const lines = (await readFile(join(MODEL_DIR, 'tasks', name, 'test.jsonl'), 'utf8')).trim().split('\n');
    tasks.push({ name, adapter, test: lines.slice(0, examples).map((l) => JSON.parse(l) as EvalExample) });
  }
  return { base, tok, tasks };
}

/** One way of serving the suite: the adapter each task is answered with (null: the base alone). */
export type Variant = (task: Task, index: number) => LoraAdapter | null;

/**
 * Accuracy per task of `variant` on `decoder`. Each task's whole test set is one continuously batched run
 * (maxBatch = the set's size, so prefill and decode work on wide batches; greedy decoding does not depend on it).
 */
export async function accuracies(decoder: Decoder, suite: Suite, variant: Variant): Promise<number[]> {
  const out: number[] = [];
  for (const [i, task] of suite.tasks.entries())
    out.push(await exactMatch(decoder, suite.tok, variant(task, i), task.test, task.test.length));
  return out;
}

export async function decoderFor(base: ModelFolder): Promise<Decoder> {
  return Decoder.fromFolder(base);
}
