/**
 * Shared-basis serving (gpu-backend/engine/lora-rows.ts): rows of one `shared` reversible merge, fed as A = V and
 * B = Uᵀ once for the batch and a k×k core C each, give the same logits and tokens as the task rebuilt as an adapter,
 * alone and mixed with plain adapters, base rows and a second basis; and the feeds are laid out as the graph expects.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { forwardLogits, loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { generate, type GenerationRequest } from '../../gpu-backend/engine/generate.ts';
import { io } from '../../gpu-backend/engine/inference-graph.ts';
import { LoraRows } from '../../gpu-backend/engine/lora-rows.ts';
import { sharedTaskAdapter, type SharedTask } from '../../gpu-backend/engine/shared-basis-rows.ts';
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

/** The rows' slots: each row's shared-basis task where given, else its adapter. */
function rowsOf(rows: RowSpec[]): LoraRows {
  const lora = new LoraRows(fx.decoder.cfg, rows.length);
  rows.forEach((r, i) => lora.set(i, r.shared ?? r.adapter));
  return lora;
}

/** Full-sequence logits of the fixture's prompts, one row spec per prompt, through the shared path where given. */
async function sharedLogits(rows: RowSpec[]): Promise<Float32Array> {
  const n = fx.inputIds.length;
  const seq = fx.inputIds[0].length;
  const lora = rowsOf(rows);
  const out = await fx.decoder.step({
    tokens: fx.inputIds.flat(),
    rows: n,
    seq,
    newLengths: fx.inputIds.map((r) => r.length),
    cache: null,
    lora,
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

  test('tasks of two bases and a plain adapter in one step equal each task rebuilt as an adapter', async () => {
    const got = await sharedLogits([
      { adapter: null, shared: task(lossy, 'task_a') },
      { adapter: null, shared: task(other, 'task_b') },
      { adapter: fx.adapters.get('task_c')! },
    ]);
    const perRow = await forwardLogits(fx.decoder, fx.inputIds, [
      await revertTask(lossy, 'task_a'),
      await revertTask(other, 'task_b'),
      fx.adapters.get('task_c')!,
    ]);
    expect(maxAbsDiff(got, perRow)).toBeLessThan(1e-4);
  });
});

describe('feed layout', () => {
  /** Leading axis of A, C and B of layer 0's q/k/v unit, and its rank, for these rows. */
  const layout = (rows: RowSpec[]) => {
    const feeds = new Map(rowsOf(rows).tensors(rows.length, { a: io.loraA, c: io.loraC, b: io.loraB }));
    const [a, c, b] = [feeds.get(io.loraA(0, 'qkv'))!, feeds.get(io.loraC(0, 'qkv'))!, feeds.get(io.loraB(0, 'q_proj'))!];
    expect(c.dims[1]).toBe(a.dims[2]);
    expect(c.dims[2]).toBe(a.dims[2]);
    return { a: a.dims[0], c: c.dims[0], b: b.dims[0], rank: b.dims[1] };
  };
  const adapter = (name: string): RowSpec => ({ adapter: fx.adapters.get(name)! });
  const shared = (merge: ReversibleMerge, name: string): RowSpec => ({ adapter: null, shared: task(merge, name) });
  const base: RowSpec = { adapter: null };

  // Rows as thunks: the fixture loads after the table is read.
  test.each([
    ['no adapter: rank 1 of zeros, fed once', () => [base, base, base], { a: 1, c: 1, b: 1, rank: 1 }],
    ['one adapter on every row: fed once', () => [adapter('task_a'), adapter('task_a'), adapter('task_a')], { a: 1, c: 1, b: 1 }],
    ['distinct adapters: A and B per row, C (the identity) once', () => [adapter('task_a'), adapter('task_b'), base], { a: 3, c: 1, b: 3 }],
    [
      'tasks of one basis: V and Uᵀ once, a core per row',
      () => [shared(lossy, 'task_a'), shared(lossy, 'task_b'), shared(lossy, 'task_c')],
      { a: 1, c: 3, b: 1 },
    ],
    ['a task beside an adapter: every factor per row', () => [shared(lossy, 'task_a'), adapter('task_b'), base], { a: 3, c: 3, b: 3 }],
  ] as [string, () => RowSpec[], Record<string, number>][])('%s', (_, rows, want) => {
    expect(layout(rows())).toMatchObject(want);
  });

  /** The buffer under layer 0's q/k/v A feed. */
  const aBuffer = (feeds: [string, { data: unknown }][]) => (new Map(feeds).get(io.loraA(0, 'qkv'))!.data as Float32Array).buffer;
  const names = { a: io.loraA, c: io.loraC, b: io.loraB };

  test('an adapter every row shares is fed from its one image: two batches read the same bytes, no copy per batch', () => {
    const one = rowsOf([adapter('task_a')]).tensors(1, names);
    const other = rowsOf([adapter('task_a'), adapter('task_a')]).tensors(2, names);
    expect(aBuffer(other)).toBe(aBuffer(one));
  });

  test("a prefill of rows joining a batch reads the rows' own factors (range), which decoding then feeds", () => {
    const lora = rowsOf([adapter('task_a'), adapter('task_b'), adapter('task_c')]);
    const joining = lora.range(1).tensors(2, names);
    const decoding = lora.tensors(3, names);
    expect(aBuffer(joining)).toBe(aBuffer(decoding));
    const a = new Map(joining).get(io.loraA(0, 'qkv'))!.data as Float32Array;
    const all = new Map(decoding).get(io.loraA(0, 'qkv'))!.data as Float32Array;
    expect(a.byteOffset).toBe(all.byteOffset + all.byteLength / 3);
    expect(Array.from(a)).toEqual(Array.from(all.subarray(all.length / 3)));
  });

  test('a row that leaves is cleared: its slot adds nothing afterwards', async () => {
    const lora = rowsOf([shared(lossy, 'task_a'), adapter('task_b'), base]);
    lora.move(2, 0);
    lora.move(1, 1);
    const feeds = lora.tensors(3, { a: io.loraA, c: io.loraC, b: io.loraB });
    const a = new Map(feeds).get(io.loraA(0, 'qkv'))!.data as Float32Array;
    const rowSize = a.length / 3;
    // Row 0 took row 2's base slot (zeros), row 2 was emptied, row 1 kept its adapter.
    expect(a.subarray(0, rowSize).every((x) => x === 0)).toBe(true);
    expect(a.subarray(2 * rowSize).every((x) => x === 0)).toBe(true);
    expect(a.subarray(rowSize, 2 * rowSize).some((x) => x !== 0)).toBe(true);
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

  test('rows of two bases in one batch give the same tokens as each alone', async () => {
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

  test('continuous batching: rows of one basis, then of another, give the same tokens as one by one', async () => {
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
