/**
 * `npm run bench -- prepacked-sessions [--quick]`: whether sessions of one base model can share onnxruntime's
 * pre-packed weights, the blocker for a session per path (engine README, "Why not one session per path"). On the
 * 135M shape (fp32, the base graph), one session is created the way the engine creates it (load.ts) and, from the same
 * external weights, one with `optimizedModelFilePath` and `session.save_external_prepacked_constant_initializers`,
 * which writes the optimized graph and a data file holding the weights and their pre-packed forms; then two sessions
 * are created from that saved graph. For each session: what it adds to this process' resident memory after its first
 * run (RSS, PSS and anonymous, from /proc/self/smaps_rollup) and its CPU per batch-1 decode-shaped run (zeros fed),
 * the sessions run in turn, median; the engine's own session is the yardstick. int4 (MatMulNBits) is not measured:
 * a session of its saved graph crashed onnxruntime 1.30 (SIGSEGV) at creation or first run here.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalWeights } from '../gpu-backend/engine/external-weights.ts';
import { buildInferenceGraph } from '../gpu-backend/engine/inference-graph.ts';
import { createSession, ort } from '../gpu-backend/engine/runtime.ts';
import { mapSource } from '../gpu-backend/engine/weights.ts';
import { table } from './measure.ts';
import { randomModel, SMOLLM2_135M } from './models.ts';

/** This process' resident memory in MB: all of it, its proportional share, and the anonymous part. */
function resident(): { rss: number; pss: number; anon: number } {
  const s = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const mb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? Number.NaN) / 1024;
  return { rss: mb('Rss'), pss: mb('Pss'), anon: mb('Anonymous') };
}

/** Zeros for every input, at batch 1, one new position and one cached one. */
function zeroFeeds(session: ort.InferenceSession): Record<string, ort.Tensor> {
  const dims: Record<string, number> = { batch: 1, seq: 1, past: 1, total: 2, n_logits: 1 };
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor) continue;
    const shape = m.shape.map((d) => (typeof d === 'number' ? d : (dims[d] ?? 1)));
    const n = shape.reduce((a, b) => a * b, 1);
    feeds[m.name] =
      m.type === 'int64' ? new ort.Tensor('int64', new BigInt64Array(n), shape) : new ort.Tensor('float32', new Float32Array(n), shape);
  }
  return feeds;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(SMOLLM2_135M);
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-prepacked-'));
  try {
    const weights = new ExternalWeights();
    const graph = buildInferenceGraph(folder.config, weights, { lora: false });
    await weights.write(dir, { checkpoint: mapSource(folder.weights) });
    await writeFile(join(dir, 'model.onnx'), graph.toOnnx());
    const save = async () => {
      const saving = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
        intraOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        optimizedModelFilePath: join(dir, 'saved.onnx'),
        extra: {
          session: {
            save_external_prepacked_constant_initializers: '1',
            optimized_model_external_initializers_file_name: 'saved.bin',
            optimized_model_external_initializers_min_size_in_bytes: '1024',
          },
        },
      });
      await saving.release();
    };
    const files = () => ({
      weights_mb: statSync(join(dir, 'weights.bin')).size / 1e6,
      saved_mb: statSync(join(dir, 'saved.bin')).size / 1e6,
    });

    const cases = [
      { name: 'as the engine creates it', open: () => createSession(join(dir, 'model.onnx'), { threads: 1 }) },
      // Already optimized when saved: optimizing again would only repeat that work.
      {
        name: 'from the saved graph, 1st',
        open: () => ort.InferenceSession.create(join(dir, 'saved.onnx'), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' }),
      },
      {
        name: 'from the saved graph, 2nd',
        open: () => ort.InferenceSession.create(join(dir, 'saved.onnx'), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' }),
      },
    ];
    const sessions: { session: ort.InferenceSession; feeds: Record<string, ort.Tensor>; added: ReturnType<typeof resident> }[] = [];
    for (const [i, c] of cases.entries()) {
      // Saved after the engine's own session is measured: the saving session's freed heap would otherwise be reused.
      if (i === 1) await save();
      const before = resident();
      const session = await c.open();
      const feeds = zeroFeeds(session);
      await session.run(feeds);
      const after = resident();
      sessions.push({
        session,
        feeds,
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
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    await Promise.all(sessions.map((s) => s.session.release()));
    const rows = cases.map((c, i) => ({
      session: c.name,
      rss_mb: sessions[i].added.rss,
      pss_mb: sessions[i].added.pss,
      anon_mb: sessions[i].added.anon,
      cpu_ms_per_run: median(cpu[i]),
      cpu_vs_engine: median(cpu[0]) / median(cpu[i]),
    }));
    const { weights_mb, saved_mb } = files();
    console.log(
      `weights file ${weights_mb.toFixed(0)} MB; saved graph's data file (weights and pre-packed forms) ${saved_mb.toFixed(0)} MB`,
    );
    console.log(
      table(
        ['session (135M base graph, fp32)', 'RSS added MB', 'PSS added MB', 'anonymous added MB', 'CPU ms/run (median)', 'engine ÷ this'],
        rows.map((r) => [r.session, r.rss_mb, r.pss_mb, r.anon_mb, r.cpu_ms_per_run, r.cpu_vs_engine]),
      ),
    );
    return {
      bench: 'prepacked-sessions',
      quick,
      model: 'SmolLM2-135M shape, random weights, fp32 base graph, one thread',
      weights_mb,
      saved_mb,
      sessions: rows,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
