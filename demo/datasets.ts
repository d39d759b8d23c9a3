/**
 * The demo's data, built here as a user would build theirs: training lines for each task of the default model
 * (JSONL of prompt/completion, as scripts/start.ts writes its example) and held-out examples whose inputs no
 * training line has.
 */
import { examples, type Skill, TASKS } from '../gpu-backend/default-model/skills.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';

export interface Example {
  prompt: string;
  completion: string;
}

export interface TaskData {
  task: string;
  /** The adapter's and the file's name part ("date to us" -> "date_to_us"). */
  slug: string;
  train: Example[];
  heldOut: Example[];
}

const TRAIN_SEED = 1201;
const HELD_OUT_SEED = 9907;

export function skill(name: string): Skill {
  const found = TASKS.find((t) => t.name === name);
  if (!found) throw new Error(`${name} is not a task of the default model (${TASKS.map((t) => t.name).join(', ')})`);
  return found;
}

export const slug = (task: string) => task.replace(/\s+/g, '_');

/** The prompt's input, what must not repeat between training and held-out lines. */
const input = (task: string, e: Example) => e.prompt.slice(task.length + 2, -1);

export function taskData(task: string, trainExamples: number, heldOut: number): TaskData {
  const train = examples(skill(task), trainExamples, rng(TRAIN_SEED));
  const seen = new Set(train.map((e) => input(task, e)));
  return { task, slug: slug(task), train, heldOut: examples(skill(task), heldOut, rng(HELD_OUT_SEED), seen) };
}

export const jsonl = (lines: Example[]) => `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`;
