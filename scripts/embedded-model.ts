/**
 * The model `npm start` serves out of the box: rankgate's embedded default model (models/rankgate-tiny, made
 * by scripts/make-default-model.ts) with its task adapters, or, while that has not been generated yet, the
 * tiny-llama test fixture with the default model's character-level tokenizer (it fits in tiny-llama's vocabulary).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { prompt, TASKS, taskSlug } from '../gpu-backend/default-model/skills.ts';
import { tokenizerConfigJson, tokenizerJson } from '../gpu-backend/default-model/tokenizer-files.ts';
import { root } from './edge-stack.ts';

export interface EmbeddedModel {
  name: string;
  /** Where its files go in the bucket. */
  prefix: string;
  /** The base model's files by name. */
  baseFiles: Map<string, Uint8Array>;
  /** PEFT adapter folders, named after their task. */
  adapters: { name: string; dir: string }[];
  /** A prompt an adapter was trained for (the task's format), for examples. */
  examplePrompt(adapter: string): string;
}

const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function readFolder(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await readdir(dir)) files.set(name, new Uint8Array(await readFile(join(dir, name))));
  return files;
}

/** Adapter folders holding both PEFT files (the generator writes them one task at a time). */
async function adapterFolders(dir: string): Promise<{ name: string; dir: string }[]> {
  const out = [];
  for (const name of (await readdir(dir)).sort()) {
    const folder = join(dir, name);
    if ((await Promise.all(ADAPTER_FILES.map((f) => exists(join(folder, f))))).every(Boolean)) out.push({ name, dir: folder });
  }
  return out;
}

function taskPrompt(adapter: string): string {
  const task = TASKS.find((t) => taskSlug(t) === adapter);
  return task ? prompt(task, task.make(rng(11)).input) : 'hello';
}

export async function embeddedModel(): Promise<EmbeddedModel> {
  const tiny = join(root, 'models', 'rankgate-tiny');
  if ((await exists(join(tiny, 'base', 'model.safetensors'))) && (await exists(join(tiny, 'adapters')))) {
    return {
      name: 'rankgate-tiny',
      prefix: 'models/rankgate-tiny/',
      baseFiles: await readFolder(join(tiny, 'base')),
      adapters: await adapterFolders(join(tiny, 'adapters')),
      examplePrompt: taskPrompt,
    };
  }
  const fixture = join(root, 'tests', 'fixtures', 'tiny-llama');
  const baseFiles = await readFolder(join(fixture, 'base'));
  const encode = (json: unknown) => new TextEncoder().encode(JSON.stringify(json));
  baseFiles.set('tokenizer.json', encode(tokenizerJson()));
  baseFiles.set('tokenizer_config.json', encode(tokenizerConfigJson()));
  return {
    name: 'tiny-llama',
    prefix: 'models/tiny-llama/',
    baseFiles,
    adapters: await adapterFolders(join(fixture, 'adapters')),
    examplePrompt: () => 'reverse words: red fox\n',
  };
}
