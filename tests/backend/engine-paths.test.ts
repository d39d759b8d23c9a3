/**
 * A session per graph path (gpu-backend/engine/path-sessions.ts, graph-variants.ts): a float32 base loads the graph as
 * built ('shared') plus the paths cut from it ('adapters' without the cores, 'base' without the adapter path) on one
 * pre-packed copy of the weights; each step runs the session its rows need, with the same logits as the one graph.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { generate, type GenerationRequest } from '../../gpu-backend/engine/generate.ts';
import { withoutInputs } from '../../gpu-backend/engine/graph-variants.ts';
import { LoraRows } from '../../gpu-backend/engine/lora-rows.ts';
import type { SharedTask } from '../../gpu-backend/engine/shared-basis-rows.ts';
import { sharedBasisOfMerge } from '../../gpu-backend/lowrank/shared-basis-form.ts';
import { buildReversibleMerge } from '../../gpu-backend/lowrank/reversible.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';
import { FIXTURE } from './helpers.ts';

const { onnx } = onnxProto;
const TASKS = ['task_a', 'task_b', 'task_c'];
let fx: Fixture;
/** The one graph as built, in one session: what every step ran before. */
let one: Decoder;
let shared: (name: string) => SharedTask;

beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
  one = await Decoder.fromFolder(await readModelFolder(join(FIXTURE, 'base')), { paths: [] });
  const members = TASKS.map((name) => ({ name, baseModel: 'tiny', adapter: fx.adapters.get(name)! }));
  const basis = sharedBasisOfMerge(await buildReversibleMerge(members, { construction: 'shared', basisSize: 2 }));
  shared = (name) => ({ basis, task: TASKS.indexOf(name) });
});

afterAll(() => one.release());

const adapter = (name: string): LoraAdapter => fx.adapters.get(name)!;

/** Full-sequence logits of the fixture's prompts with one source per row, and the path that ran them. */
async function step(decoder: Decoder, sources: (LoraAdapter | SharedTask | null)[]) {
  const seq = fx.inputIds[0].length;
  const lora = new LoraRows(decoder.cfg, sources.length);
  sources.forEach((s, r) => lora.set(r, s));
  return decoder.step({
    tokens: fx.inputIds.flat(),
    rows: sources.length,
    seq,
    newLengths: fx.inputIds.map((r) => r.length),
    cache: null,
    lora,
    logitsAt: fx.inputIds.map(() => [...Array(seq).keys()]),
  });
}

describe('a session per graph path', () => {
  test('a float32 base on the CPU loads every path; the one graph as built serves every batch alone', () => {
    expect(fx.decoder.paths).toEqual(['shared', 'adapters', 'base']);
    expect(one.paths).toEqual(['shared']);
  });

  const batches: [string, () => (LoraAdapter | SharedTask | null)[], string][] = [
    ['base only', () => [null, null, null], 'base'],
    ['one adapter on every row', () => [adapter('task_a'), adapter('task_a'), adapter('task_a')], 'adapters'],
    ['distinct adapters and a base row', () => [adapter('task_a'), null, adapter('task_c')], 'adapters'],
    ['tasks of one shared basis', () => [shared('task_a'), shared('task_b'), shared('task_c')], 'shared'],
    ['mixed: a shared-basis task, an adapter, the base', () => [shared('task_b'), adapter('task_a'), null], 'shared'],
  ];
  test.each(batches)('%s runs the %s path, with the logits of the one graph', async (_, sources, path) => {
    const got = await step(fx.decoder, sources());
    const want = await step(one, sources());
    expect(got.path).toBe(path);
    expect(want.path).toBe('shared');
    expect(maxAbsDiff(got.logits, want.logits)).toBeLessThanOrEqual(1e-6);
  });

  test('continuous batching switches paths as rows join and leave, with the tokens of the one graph', async () => {
    // Rows of different lengths: the batch runs base-only, adapter and shared-basis steps as requests finish.
    const requests = (): GenerationRequest[] => [
      { prompt: fx.inputIds[0], adapter: null, maxTokens: 9 },
      { prompt: fx.inputIds[1].slice(0, 7), adapter: adapter('task_c'), maxTokens: 5 },
      { prompt: fx.inputIds[2].slice(0, 5), adapter: null, shared: shared('task_a'), maxTokens: 3 },
      { prompt: fx.inputIds[1], adapter: adapter('task_b'), maxTokens: 4 },
    ];
    const got = await generate(fx.decoder, requests(), { maxBatch: 2 });
    expect(got).toEqual(await generate(one, requests(), { maxBatch: 2 }));
  });

  test('loading leaves no file in the scratch folder (the saved weights go when the sessions are released)', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'rankgate-paths-'));
    try {
      const d = await Decoder.fromFolder(await readModelFolder(join(FIXTURE, 'base')), { scratchDir: scratch });
      expect(d.paths).toHaveLength(3);
      expect(await readdir(scratch)).toEqual([]);
      await d.release();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  test('cutting refuses a node it cannot simplify rather than serve a wrong graph', () => {
    const graph = onnx.GraphProto.create({
      node: [onnx.NodeProto.create({ opType: 'Softmax', name: 'odd', input: ['lora_A.0.qkv'], output: ['y'] })],
      input: [onnx.ValueInfoProto.create({ name: 'lora_A.0.qkv' })],
      output: [onnx.ValueInfoProto.create({ name: 'y' })],
    });
    const model = onnx.ModelProto.create({ graph });
    expect(() =>
      withoutInputs(
        model,
        (n) => n.startsWith('lora_'),
        () => false,
      ),
    ).toThrow(/cannot cut odd/);
  });
});
