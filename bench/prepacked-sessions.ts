/**
 * `npm run bench -- prepacked-sessions [--quick]`: whether sessions of different graphs of one base model (the LoRA
 * graph and the base-only graph) can share onnxruntime's pre-packed weights, the blocker for a session per path
 * (engine README, "A session per path", which the engine now does). On the 135M shape (fp32):
 *  1. the base graph's session as the engine creates it (load.ts): the yardstick;
 *  2. both graphs saved optimized with `session.save_external_prepacked_constant_initializers` (each a graph and a
 *     data file holding its weights and their pre-packed forms);
 *  3. the base graph's saved initializers pointed at the LoRA graph's data file, by name (each initializer's
 *     location, offset, length and pre-packed entry taken from the LoRA graph's, where shape, type and pre-packing
 *     kernel match), so both sessions map one file;
 *  4. a session of the saved LoRA graph, then one of the re-pointed base graph.
 * For each session: what it adds to this process' resident memory after its first run (RSS, PSS and anonymous, from
 * /proc/self/smaps_rollup), its CPU per batch-1 decode-shaped run (fixed inputs, zero LoRA factors), the sessions run in
 * turn, median; and the largest logit difference from the engine's base session. int4 (MatMulNBits) is not measured:
 * a session of its saved graph crashed onnxruntime 1.30 (SIGSEGV) at creation or first run here.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { ExternalWeights } from '../gpu-backend/engine/external-weights.ts';
import { buildInferenceGraph } from '../gpu-backend/engine/inference-graph.ts';
import { createSession, ort } from '../gpu-backend/engine/runtime.ts';
import { mapSource } from '../gpu-backend/engine/weights.ts';
import { median, table } from './measure.ts';
import { randomModel, SMOLLM2_135M } from './models.ts';

const { onnx } = onnxProto;
type TensorProto = NonNullable<NonNullable<ReturnType<typeof onnx.ModelProto.decode>['graph']>['initializer']>[number];

/** This process' resident memory in MB: all of it, its proportional share, and the anonymous part. */
function resident(): { rss: number; pss: number; anon: number } {
  const s = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const mb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? Number.NaN) / 1024;
  return { rss: mb('Rss'), pss: mb('Pss'), anon: mb('Anonymous') };
}

/** Fixed inputs at batch 1, one new position and one cached one; LoRA factors of rank 1, zeros. */
function feedsFor(session: ort.InferenceSession): Record<string, ort.Tensor> {
  const dims: Record<string, number> = { batch: 1, seq: 1, past: 1, total: 2, n_logits: 1 };
  // A unit's width is `n·r.L.U` (inference-graph.ts): n members at rank 1.
  const dim = (d: string) => dims[d] ?? Number(/^(\d+)·/.exec(d)?.[1] ?? 1);
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor) continue;
    const shape = m.shape.map((d) => (typeof d === 'number' ? d : dim(d)));
    const n = shape.reduce((a, b) => a * b, 1);
    feeds[m.name] =
      m.type === 'int64'
        ? new ort.Tensor('int64', new BigInt64Array(n), shape)
        : new ort.Tensor(
            'float32',
            Float32Array.from({ length: n }, (_, i) => (m.name.startsWith('lora') ? 0 : Math.sin(i))),
            shape,
          );
  }
  return feeds;
}

/** Writes `lora`'s graph and weights under dir/name, and saves its optimized graph with pre-packed weights beside it. */
async function saveGraph(dir: string, name: string, folder: ReturnType<typeof randomModel>, lora: boolean): Promise<void> {
  const weights = new ExternalWeights();
  const graph = buildInferenceGraph(folder.config, weights, { lora });
  await mkdir(join(dir, name));
  await weights.write(join(dir, name), { checkpoint: mapSource(folder.weights) });
  await writeFile(join(dir, name, 'model.onnx'), graph.toOnnx());
  const saving = await ort.InferenceSession.create(join(dir, name, 'model.onnx'), {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: join(dir, `${name}.onnx`),
    extra: {
      session: {
        save_external_prepacked_constant_initializers: '1',
        optimized_model_external_initializers_file_name: `${name}.bin`,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
      },
    },
  });
  await saving.release();
}

/** Points `from`'s saved external initializers at `to`'s data file, by name; returns how many could not be. */
function repoint(dir: string, from: string, to: string, out: string): Promise<number> {
  const donor = new Map(onnx.ModelProto.decode(readFileSync(join(dir, `${to}.onnx`))).graph?.initializer?.map((t) => [t.name, t]));
  const model = onnx.ModelProto.decode(readFileSync(join(dir, `${from}.onnx`)));
  // Same shape, type and pre-packing kernel: the pre-packed entry is `<kernel>+<hash>|offset;length;...`.
  const key = (t: TensorProto) =>
    JSON.stringify([
      t.dims?.map(Number),
      t.dataType,
      t.externalData?.filter((e) => e.key?.startsWith('prepacked')).map((e) => e.value?.split('|')[0]),
    ]);
  let unmatched = 0;
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const d = donor.get(t.name);
    if (d && key(d) === key(t)) t.externalData = d.externalData;
    else unmatched++;
  }
  return writeFile(join(dir, out), onnx.ModelProto.encode(model).finish()).then(() => unmatched);
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(SMOLLM2_135M);
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-prepacked-'));
  try {
    // Already optimized when saved: optimizing again would only repeat that work.
    const saved = (file: string) => () =>
      ort.InferenceSession.create(join(dir, file), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
    let unmatched = 0;
    const cases = [
      {
        name: 'base graph, as the engine creates it',
        open: async () => {
          const weights = new ExternalWeights();
          const graph = buildInferenceGraph(folder.config, weights, { lora: false });
          await mkdir(join(dir, 'engine'));
          await weights.write(join(dir, 'engine'), { checkpoint: mapSource(folder.weights) });
          await writeFile(join(dir, 'engine', 'model.onnx'), graph.toOnnx());
          return createSession(join(dir, 'engine', 'model.onnx'), { threads: 1 });
        },
      },
      { name: 'LoRA graph, saved', open: saved('lora.onnx') },
      { name: "base graph, saved, on the LoRA graph's file", open: saved('base-on-lora.onnx') },
    ];
    const sessions: {
      session: ort.InferenceSession;
      feeds: Record<string, ort.Tensor>;
      added: ReturnType<typeof resident>;
      logits: Float32Array;
    }[] = [];
    for (const [i, c] of cases.entries()) {
      // Saved after the engine's own session is measured: the saving sessions' freed heap would otherwise be reused.
      if (i === 1) {
        await saveGraph(dir, 'lora', folder, true);
        await saveGraph(dir, 'base', folder, false);
        unmatched = await repoint(dir, 'base', 'lora', 'base-on-lora.onnx');
      }
      const before = resident();
      const session = await c.open();
      const feeds = feedsFor(session);
      const logits = (await session.run(feeds)).logits.data as Float32Array;
      const after = resident();
      sessions.push({
        session,
        feeds,
        logits,
        added: { rss: after.rss - before.rss, pss: after.pss - before.pss, anon: after.anon - before.anon },
      });
    }
    const cpu = sessions.map(() => [] as number[]);
    for (let round = 0; round < (quick ? 10 : 40); round++)
      for (const [i, s] of sessions.entries()) {
        const c = process.cpuUsage();
        await s.session.run(s.feeds);
        const u = process.cpuUsage(c);
        cpu[i].push((u.user + u.system) / 1000);
      }
    await Promise.all(sessions.map((s) => s.session.release()));
    const rows = cases.map((c, i) => ({
      session: c.name,
      rss_mb: sessions[i].added.rss,
      pss_mb: sessions[i].added.pss,
      anon_mb: sessions[i].added.anon,
      cpu_ms_per_run: median(cpu[i]),
      cpu_vs_engine: median(cpu[0]) / median(cpu[i]),
      max_abs_logit_diff: sessions[i].logits.reduce((m, x, j) => Math.max(m, Math.abs(x - sessions[0].logits[j])), 0),
    }));
    const size = (f: string) => statSync(join(dir, f)).size / 1e6;
    const files = { weights_mb: size('engine/weights.bin'), lora_saved_mb: size('lora.bin'), base_saved_mb: size('base.bin') };
    console.log(
      `weights file ${files.weights_mb.toFixed(0)} MB; saved data files (weights and pre-packed forms): LoRA graph ${files.lora_saved_mb.toFixed(0)} MB, base graph ${files.base_saved_mb.toFixed(0)} MB; base initializers not matched in the LoRA graph's file: ${unmatched}`,
    );
    console.log(
      table(
        [
          'session (135M, fp32)',
          'RSS added MB',
          'PSS added MB',
          'anonymous added MB',
          'CPU ms/run (median)',
          'engine ÷ this',
          'max |Δ logit|',
        ],
        rows.map((r) => [r.session, r.rss_mb, r.pss_mb, r.anon_mb, r.cpu_ms_per_run, r.cpu_vs_engine, r.max_abs_logit_diff]),
      ),
    );
    return {
      bench: 'prepacked-sessions',
      quick,
      model: 'SmolLM2-135M shape, random weights, fp32, one thread',
      ...files,
      unmatched_initializers: unmatched,
      sessions: rows,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
