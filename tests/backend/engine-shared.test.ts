/**
 * Shared-basis serving (gpu-backend/engine/shared-basis-rows.ts): rows of one `shared` reversible merge computing
 * one x·V and ·Uᵀ for the batch and a k×k core each give the same logits and tokens as today's per-row path with
 * the task rebuilt as an adapter, alone and mixed with plain adapters, base rows and a second basis.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { forwardLogits, loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { generate, type GenerationRequest } from '../../gpu-backend/engine/generate.ts';
import { LoraRows } from '../../gpu-backend/engine/lora-rows.ts';
import { SharedBasisRows, sharedTaskAdapter, type SharedTask } from '../../gpu-backend/engine/shared-basis-rows.ts';
import { sharedBasisOfJoint, sharedBasisOfMerge } from '../../gpu-backend/lowrank/shared-basis-form.ts';
import { jointAdapter, jointCompress } from '../../gpu-backend/lowrank/joint.ts';
import { buildReversibleMerge, revertTask, type ReversibleMerge } from '../../gpu-backend/lowrank/reversible.ts';
import { FIXTURE } from './helpers.ts';

const TASKS = ['task_a', 'task_b', 'task_c'];
let fx: Fixture;
/** p = n (exact; cores kept factored), p = 2 (lossy; full k×k cores) and p = 1 of the first two tasks (a second basis). */
let exact: ReversibleMerge;
let lossy: ReversibleMerge;
let other: ReversibleMerge;

beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
  const members = TASKS.map((name) => ({ name, baseModel: 'tiny', adapter: fx.adapters.get(name)! }));
  exact = await buildReversibleMerge(members, { construction: 'shared', basisSize: 3 });
  lossy = await buildReversibleMerge(members, { construction: 'shared', basisSize: 2 });
  other = await buildReversibleMerge(members.slice(0, 2), { construction: 'shared', basisSize: 1 });
});

type RowSpec = { adapter: LoraAdapter | null; shared?: SharedTask };

/** Full-sequence logits of the fixture's prompts, one row spec per prompt, through the shared path where given. */
async function sharedLogits(rows: RowSpec[]): Promise<Float32Array> {
  const n = fx.inputIds.length;
  const seq = fx.inputIds[0].length;
  const lora = new LoraRows(fx.decoder.cfg, n);
  const shared = new SharedBasisRows(fx.decoder.cfg, n);
  rows.forEach((r, i) => {
    lora.set(i, r.adapter);
    shared.set(i, r.shared ?? null);
  });
  const out = await fx.decoder.step({
    tokens: fx.inputIds.flat(),
    rows: n,
    seq,
    newLengths: fx.inputIds.map((r) => r.length),
    cache: null,
    lora,
    shared,
    logitsAt: fx.inputIds.map(() => [...Array(seq).keys()]),
  });
  return out.logits;
}

const task = (merge: ReversibleMerge, name: string): SharedTask => ({ basis: sharedBasisOfMerge(merge), task: TASKS.indexOf(name) });

describe('shared-basis rows', () => {
  test.each([
    ['p = n', () => exact],
    ['p = 2', () => lossy],
  ])('%s: three tasks through one basis equal each task rebuilt as an adapter on the per-row path', async (_, merge) => {
    const m = merge();
    expect(fx.inputIds.length).toBe(3);
    const got = await sharedLogits(TASKS.map((name) => ({ adapter: null, shared: task(m, name) })));
    const perRow = await forwardLogits(fx.decoder, fx.inputIds, await Promise.all(TASKS.map((name) => revertTask(m, name))));
    expect(maxAbsDiff(got, perRow)).toBeLessThan(1e-4);
    // B = U·Σᵢ, A = Vᵀ as a per-row adapter is the same delta.
    const asAdapters = await forwardLogits(
      fx.decoder,
      fx.inputIds,
      TASKS.map((name) => sharedTaskAdapter(task(m, name))),
    );
    expect(maxAbsDiff(got, asAdapters)).toBeLessThan(1e-4);
    // And the shared path did something: the tasks move the logits well away from the base's.
    const base = await forwardLogits(fx.decoder, fx.inputIds, [null, null, null]);
    expect(maxAbsDiff(got, base)).toBeGreaterThan(1e-2);
  });

  test('a joint compression (k = 4) through its shared basis equals each adapter of the set as jointAdapter rebuilds it', async () => {
    const members = TASKS.map((name) => ({ name, baseModel: 'tiny', adapter: fx.adapters.get(name)! }));
    const joint = await jointCompress(members, { k: 4 });
    const basis = sharedBasisOfJoint(joint);
    const got = await sharedLogits(TASKS.map((_, i) => ({ adapter: null, shared: { basis, task: i } })));
    const perRow = await forwardLogits(
      fx.decoder,
      fx.inputIds,
      TASKS.map((name) => jointAdapter(joint, name)),
    );
    expect(maxAbsDiff(got, perRow)).toBeLessThan(1e-4);
  });

  test('a mixed batch (shared task, plain adapter, base) equals the per-row path row by row', async () => {
    const got = await sharedLogits([
      { adapter: null, shared: task(lossy, 'task_c') },
      { adapter: fx.adapters.get('task_b')! },
      { adapter: null },
    ]);
    const perRow = await forwardLogits(fx.decoder, fx.inputIds, [await revertTask(lossy, 'task_c'), fx.adapters.get('task_b')!, null]);
    expect(maxAbsDiff(got, perRow)).toBeLessThan(1e-4);
  });

  test('no row in the basis: the zero feeds leave the model as it is', async () => {
    const got = await sharedLogits([{ adapter: fx.adapters.get('task_a')! }, { adapter: null }, { adapter: null }]);
    const perRow = await forwardLogits(fx.decoder, fx.inputIds, [fx.adapters.get('task_a')!, null, null]);
    expect(maxAbsDiff(got, perRow)).toBe(0);
  });
});

describe('generation with shared-basis tasks', () => {
  const prompt = () => fx.inputIds[0];
  const refGeneration = (name: string) => (fx.referenceJson[`generate.${name}`] as number[]).slice(prompt().length);

  test('at p = n each task decodes exactly its own greedy tokens, in one batch with plain adapters and the base', async () => {
    const requests: GenerationRequest[] = [
      ...TASKS.map((name) => ({ prompt: prompt(), adapter: null, shared: task(exact, name), maxTokens: 10 })),
      { prompt: prompt(), adapter: fx.adapters.get('task_b')!, maxTokens: 10 },
      { prompt: prompt(), adapter: null, maxTokens: 10 },
    ];
    const results = await generate(fx.decoder, requests);
    expect(results.map((r) => r.tokens)).toEqual([...TASKS, 'task_b', 'base'].map(refGeneration));
  });

  test('rows of a second basis take the per-row path and give the same tokens as alone', async () => {
    const mixed: GenerationRequest[] = [
      { prompt: prompt(), adapter: null, shared: task(lossy, 'task_a'), maxTokens: 10 },
      { prompt: fx.inputIds[1], adapter: null, shared: task(other, 'task_b'), maxTokens: 10 },
      { prompt: fx.inputIds[2], adapter: null, shared: task(lossy, 'task_c'), maxTokens: 10 },
      { prompt: fx.inputIds[1], adapter: fx.adapters.get('task_a')!, maxTokens: 10 },
    ];
    const together = await generate(fx.decoder, mixed);
    const mergeOf = (s: SharedTask) => (s.basis === sharedBasisOfMerge(lossy) ? lossy : other);
    const rebuilt = async (r: GenerationRequest) =>
      r.shared ? await revertTask(mergeOf(r.shared), r.shared.basis.tasks[r.shared.task]) : r.adapter;
    const alone = [];
    for (const r of mixed) alone.push((await generate(fx.decoder, [{ ...r, adapter: await rebuilt(r), shared: undefined }]))[0]);
    expect(together.map((r) => r.tokens)).toEqual(alone.map((r) => r.tokens));
  });

  test('continuous batching: the basis is released when its rows finish, and the next one takes the shared path', async () => {
    const requests: GenerationRequest[] = [0, 1, 2, 3, 4, 5].map((i) => ({
      prompt: fx.inputIds[i % 3].slice(0, 5 + i),
      adapter: null,
      shared: i < 3 ? task(lossy, TASKS[i]) : task(other, TASKS[i % 2]),
      maxTokens: 3 + i,
    }));
    const batched = await generate(fx.decoder, requests, { maxBatch: 2 });
    const oneByOne = [];
    for (const r of requests) oneByOne.push((await generate(fx.decoder, [r]))[0]);
    expect(batched.map((r) => r.tokens)).toEqual(oneByOne.map((r) => r.tokens));
  });

  test('an adapter and a shared task in one request, or a task outside the basis, are refused', async () => {
    const s = task(lossy, 'task_a');
    await expect(
      generate(fx.decoder, [{ prompt: prompt(), adapter: fx.adapters.get('task_a')!, shared: s, maxTokens: 2 }]),
    ).rejects.toThrow(/not both/);
    await expect(generate(fx.decoder, [{ prompt: prompt(), adapter: null, shared: { ...s, task: 3 }, maxTokens: 2 }])).rejects.toThrow(
      /not one of/,
    );
  });
});
