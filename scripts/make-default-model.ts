/**
 * Regenerates rankgate's embedded default model and its task suite, deterministically (same seeds, same
 * machine kind -> same files):
 *   models/rankgate-tiny/base/        a small Llama (HF layout + tokenizer), pretrained here with full-parameter
 *                                     training on GENERAL_SKILLS (default-model/skills.ts)
 *   models/rankgate-tiny/tasks/<t>/   train.jsonl and test.jsonl (disjoint inputs) for each held-out task
 *   models/rankgate-tiny/adapters/<t> a PEFT LoRA adapter trained on that task
 *   models/rankgate-tiny/results.json held-out exact-match of the base alone and of each adapter
 *
 * usage: node --import tsx scripts/make-default-model.ts [--quick] [--adapters-only] [--readme-only] [--only TASK,TASK] [--out DIR]
 * --quick is a smoke run of a few steps; it writes to .rankgate/rankgate-tiny-quick unless --out says otherwise,
 * so that it never overwrites the committed model.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { table } from '../bench/measure.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { expectedWeightShapes } from '../gpu-backend/engine/weights.ts';
import { readAdapterFolder, readModelFolder, type ModelFolder } from '../gpu-backend/formats/files.ts';
import { parseModelConfig, PROJECTIONS } from '../contracts/formats/hf-config.ts';
import type { Tensor } from '../contracts/formats/safetensors.ts';
import { TextTokenizer } from '../gpu-backend/formats/tokenizer.ts';
import { examples, GENERAL_SKILLS, TASKS, taskSlug } from '../gpu-backend/default-model/skills.ts';
import { BOS_ID, EOS_ID, PAD_ID, tokenizerConfigJson, tokenizerJson, VOCAB_SIZE } from '../gpu-backend/default-model/tokenizer-files.ts';
import { encodeDataset } from '../gpu-backend/train/data.ts';
import { exactMatch } from '../gpu-backend/train/evaluate.ts';
import { Trainer, type TrainingConfig } from '../gpu-backend/train/trainer.ts';

const quick = process.argv.includes('--quick');
const adaptersOnly = process.argv.includes('--adapters-only');
const readmeOnly = process.argv.includes('--readme-only');
const onlyFlag = process.argv.indexOf('--only');
const only = onlyFlag > 0 ? process.argv[onlyFlag + 1].split(',') : null;
const unknownTasks = only?.filter((slug) => !TASKS.some((t) => taskSlug(t) === slug)) ?? [];
if (unknownTasks.length > 0) {
  console.error(`--only: no task named ${unknownTasks.join(', ')}; the tasks are ${TASKS.map(taskSlug).join(', ')}`);
  process.exit(2);
}
const ROOT = join(import.meta.dirname, '..');
const outFlag = process.argv.indexOf('--out');
const OUT = outFlag > 0 ? process.argv[outFlag + 1] : join(ROOT, quick ? '.rankgate/rankgate-tiny-quick' : 'models/rankgate-tiny');
const BASE = join(OUT, 'base');

export const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: VOCAB_SIZE,
  hidden_size: 256,
  intermediate_size: 768,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 32,
  hidden_act: 'silu',
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: BOS_ID,
  eos_token_id: EOS_ID,
  pad_token_id: PAD_ID,
  torch_dtype: 'float32',
};

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const log = (...args: unknown[]) => console.log(new Date().toISOString().slice(11, 19), ...args);

/** Llama's initialisation: N(0, 0.02) for matrices and embeddings, ones for norms (Box-Muller, seeded). */
function initialWeights(seed: number): ModelFolder {
  const config = parseModelConfig(CONFIG);
  const random = rng(seed);
  const weights = new Map<string, Tensor>();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.includes('norm')) data.fill(1);
    else for (let i = 0; i < n; i++) data[i] = 0.02 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    weights.set(name, { dtype: 'F32', shape, data });
  }
  return { dir: BASE, config, rawConfig: CONFIG, weights };
}

/** The pretraining corpus: every general skill (by its weight), a fifth of it in the chat format. */
function pretrainCorpus(perWeight: number): string {
  const random = rng(7);
  const rows = GENERAL_SKILLS.flatMap((s) => examples(s, perWeight * (s.weight ?? 1), random)).map((e, i) =>
    i % 5 === 0
      ? {
          messages: [
            { role: 'user', content: e.prompt.trimEnd() },
            { role: 'assistant', content: e.completion },
          ],
        }
      : e,
  );
  const order = rows.map((_, i) => i).sort((a, b) => ((a * 2654435761) >>> 0) - ((b * 2654435761) >>> 0));
  return jsonl(order.map((i) => rows[i]));
}

/** Everything of the base folder but its weights. */
async function writeBaseFiles(): Promise<void> {
  await mkdir(BASE, { recursive: true });
  await writeFile(join(BASE, 'config.json'), JSON.stringify(CONFIG, null, 2) + '\n');
  await writeFile(
    join(BASE, 'generation_config.json'),
    JSON.stringify({ bos_token_id: BOS_ID, eos_token_id: EOS_ID, pad_token_id: PAD_ID }, null, 2) + '\n',
  );
  await writeFile(join(BASE, 'tokenizer.json'), JSON.stringify(tokenizerJson()) + '\n');
  await writeFile(join(BASE, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(), null, 2) + '\n');
}

/** How each task's adapter is trained (also printed in models/rankgate-tiny/README.md). */
// maxLength 96: the longest task example is 66 tokens; truncating it teaches an adapter never to stop.
const ADAPTER = { r: 8, alpha: 16, steps: 1000, batchSize: 32, learningRate: 3e-3, maxLength: 96 };
const common = {
  gradAccumSteps: 1,
  schedule: 'cosine' as const,
  maxGradNorm: 1,
  maxLength: 64,
  checkpointEvery: 0,
  evalEvery: 0,
  baseModelName: 'rankgate-tiny',
};

async function pretrain(tok: TextTokenizer): Promise<void> {
  const data = await encodeDataset(pretrainCorpus(quick ? 50 : 8000), tok, 64, 'pretraining corpus');
  const config: TrainingConfig = {
    ...common,
    mode: 'full',
    epochs: 1,
    batchSize: 32,
    learningRate: 3e-3,
    warmupSteps: quick ? 5 : 200,
    weightDecay: 0.01,
    seed: 1,
  };
  const trainer = new Trainer(initialWeights(1), config, data, null, PAD_ID);
  log(`pretraining on ${data.examples.length} examples, ${trainer.totalSteps} steps`);
  const result = await trainer.run({
    onEvent: (e) => {
      if (e.type === 'step' && (e.step % 50 === 0 || e.step === e.totalSteps))
        log(
          `step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} lr ${e.learningRate.toExponential(2)} ${e.tokensPerSecond.toFixed(0)} tok/s eta ${e.etaSeconds.toFixed(0)}s`,
        );
    },
  });
  await trainer.release();
  await writeFile(join(BASE, 'model.safetensors'), result.files.get('model.safetensors')!);
}

async function main(): Promise<void> {
  await writeBaseFiles();
  const tok = await TextTokenizer.load(BASE);
  if (!adaptersOnly) await pretrain(tok);
  const base = await readModelFolder(BASE);
  const decoder = await Decoder.fromFolder(base);

  // --only a,b retrains those tasks and keeps the other results.
  const previous: Partial<Results> = only ? JSON.parse(await readFile(join(OUT, 'results.json'), 'utf8')) : {};
  const results: Results['tasks'] = { ...previous.tasks };
  const general: Record<string, number> = { ...previous.general_skills_base };
  if (!only)
    for (const skill of GENERAL_SKILLS)
      general[skill.name] = await exactMatch(decoder, tok, null, examples(skill, quick ? 20 : 100, rng(99)));
  log('base on its pretraining skills (fresh samples):', JSON.stringify(general));

  for (const [i, task] of TASKS.entries()) {
    const slug = taskSlug(task);
    if (only && !only.includes(slug)) continue;
    const dir = join(OUT, 'tasks', slug);
    await mkdir(dir, { recursive: true });
    const random = rng(1000 + i);
    const test = examples(task, quick ? 40 : 200, random);
    const train = examples(task, quick ? 200 : 4000, random, new Set(test.map((e) => e.prompt.slice(task.name.length + 2, -1))));
    await writeFile(join(dir, 'train.jsonl'), jsonl(train));
    await writeFile(join(dir, 'test.jsonl'), jsonl(test));

    const config: TrainingConfig = {
      ...common,
      mode: 'lora',
      lora: { r: ADAPTER.r, alpha: ADAPTER.alpha, targetModules: [...PROJECTIONS] },
      epochs: 1000,
      maxSteps: quick ? 5 : ADAPTER.steps,
      batchSize: ADAPTER.batchSize,
      learningRate: ADAPTER.learningRate,
      maxLength: ADAPTER.maxLength,
      warmupSteps: 50,
      weightDecay: 0,
      seed: 2000 + i,
    };
    const data = await encodeDataset(await readFile(join(dir, 'train.jsonl'), 'utf8'), tok, ADAPTER.maxLength);
    if (data.truncated > 0) log(`${slug}: ${data.truncated} training examples truncated to ${ADAPTER.maxLength} tokens`);
    const trainer = new Trainer(base, config, data, null, PAD_ID);
    const t0 = performance.now();
    const result = await trainer.run();
    await trainer.release();
    const seconds = (performance.now() - t0) / 1000;
    const adapterDir = join(OUT, 'adapters', slug);
    await mkdir(adapterDir, { recursive: true });
    for (const [name, bytes] of result.files) await writeFile(join(adapterDir, name), bytes);
    const adapter = await readAdapterFolder(adapterDir, base.config);
    results[slug] = {
      base: await exactMatch(decoder, tok, null, test),
      adapter: await exactMatch(decoder, tok, adapter, test),
      train_examples: train.length,
      test_examples: test.length,
      steps: result.step,
      seconds,
    };
    log(
      `${slug}: base ${results[slug].base.toFixed(3)} -> adapter ${results[slug].adapter.toFixed(3)} (${result.step} steps, ${seconds.toFixed(0)} s, final loss ${result.trainLoss.toFixed(4)})`,
    );
  }
  await writeFile(join(OUT, 'results.json'), JSON.stringify({ general_skills_base: general, tasks: results }, null, 2) + '\n');
  await writeReadme();
}

type Results = {
  general_skills_base: Record<string, number>;
  tasks: Record<string, { base: number; adapter: number; train_examples: number; test_examples: number; steps: number; seconds: number }>;
};

async function writeReadme(): Promise<void> {
  const { general_skills_base: general, tasks } = JSON.parse(await readFile(join(OUT, 'results.json'), 'utf8')) as Results;
  const summary = table(
    ['task', 'base exact-match', 'adapter exact-match', 'steps', 'train s'],
    Object.entries(tasks).map(([k, v]) => [k, v.base, v.adapter, v.steps, v.seconds]),
  );
  console.log('\n' + summary);
  await writeFile(join(OUT, 'README.md'), readme(summary, general));
}

function readme(summary: string, general: Record<string, number>): string {
  return `# rankgate-tiny

rankgate's embedded default model: a ${parseModelConfig(CONFIG).numLayers}-layer Llama (hidden ${CONFIG.hidden_size}, ${CONFIG.num_attention_heads} heads / ${CONFIG.num_key_value_heads} KV heads, MLP ${CONFIG.intermediate_size}, tied embeddings,
character-level tokenizer of ${VOCAB_SIZE} tokens) in the standard Hugging Face layout, pretrained by rankgate's own trainer
(full-parameter training) on synthetic string skills, and one LoRA adapter per held-out task. The local stack
(\`npm start\`), the demo and the merge benchmark use it. Everything here is regenerated, deterministically on the
same kind of machine, by \`node --import tsx scripts/make-default-model.ts\` (about an hour and a half on 2 cores).

- \`base/\`: config.json, model.safetensors, tokenizer.json, tokenizer_config.json (with a chat template),
  generation_config.json.
- \`tasks/<task>/train.jsonl\`, \`test.jsonl\`: \`{"prompt": "<task>: <input>\\n", "completion": "<output>"}\`, with
  no input shared between the two files.
- \`adapters/<task>/\`: a PEFT LoRA adapter (r ${ADAPTER.r}, alpha ${ADAPTER.alpha}, all seven projections) trained on \`train.jsonl\`
  (${ADAPTER.steps} steps of ${ADAPTER.batchSize} examples, AdamW at ${ADAPTER.learningRate} with cosine decay).
- \`results.json\`: the numbers below.

Held-out exact match (greedy decoding; the whole completion and then end of sequence):

\`\`\`
${summary}
\`\`\`

The base alone on fresh samples of its pretraining skills: ${Object.entries(general)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ')}.
`;
}

if (readmeOnly) await writeReadme();
else await main();
