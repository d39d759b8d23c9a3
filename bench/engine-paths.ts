/**
 * `npm run bench -- engine-paths [--quick]`: a session per graph path on one pre-packed copy of the weights
 * (engine/path-sessions.ts) against the one graph as built, on the SmolLM2-135M shape (fp32). ENGINE_PATHS=one or
 * paths (default) picks the variant this process measures (one process each, so that each stays near 3.5 GB of RSS,
 * the mapped file counted per session; run them in turn, A B A B, and compare the ratios each measures against its
 * own base); ENGINE_PATHS=interleaved measures both in this process, in turn, at batch 1 only (one adapter):
 *  - load: seconds, and what each decoder adds to this process' RSS, PSS and anonymous memory (smaps_rollup);
 *  - decode at batch 1 and 32, variants in turn round after round, best of the rounds by wall time and by CPU time
 *    (process.cpuUsage over the timed steps): the base (before: the plain graph without LoRA inputs, as `bench
 *    engine` divides by; after: a base-only batch, which runs the base path), one distinct r 16 adapter per row, 32
 *    tasks of one shared basis (k 16, random values), and (before only) the LoRA graph with no adapter.
 * The ratios to each variant's own base are `bench engine`'s adapter_vs_base_b1, decode_multi_vs_base and
 * decode_shared_vs_base.
 */
import { readFileSync } from 'node:fs';
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch, type GenerationRequest } from '../gpu-backend/engine/generate.ts';
import type { LoadOptions } from '../gpu-backend/engine/load.ts';
import { basisFor, SHARED_K } from './engine-shared.ts';
import { table } from './measure.ts';
import { smapsBreakdown } from './smaps.ts';
import { randomAdapter, randomModel, SMOLLM2_135M } from './models.ts';

function resident(): { rss: number; pss: number; anon: number } {
  const s = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const mb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? Number.NaN) / 1024;
  return { rss: mb('Rss'), pss: mb('Pss'), anon: mb('Anonymous') };
}

type Case = 'base' | 'multi' | 'shared' | 'lora_graph';

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(SMOLLM2_135M);
  const cfg = folder.config;
  const loads: Record<string, { seconds: number; rss_mb: number; pss_mb: number; anon_mb: number; paths: string[] }> = {};
  const load = async (name: string, opts: LoadOptions) => {
    const before = resident();
    const t = performance.now();
    const d = await Decoder.fromFolder(folder, opts);
    const seconds = (performance.now() - t) / 1000;
    const after = resident();
    loads[name] = {
      seconds,
      rss_mb: after.rss - before.rss,
      pss_mb: after.pss - before.pss,
      anon_mb: after.anon - before.anon,
      paths: d.paths,
    };
    return d;
  };
  const variant = process.env.ENGINE_PATHS ?? 'paths';
  const engines: Record<string, Decoder> = {};
  if (variant !== 'paths') {
    engines.one = await load('one graph (as built)', { paths: [] });
    engines.plain = await load('plain base graph (the yardstick before)', { lora: false, paths: [] });
  }
  if (variant !== 'one') engines.paths = await load('a session per path', {});
  // The decoders read only the embedding table from here (embedding-table.ts): the rest would double the weights held.
  for (const name of [...folder.weights.keys()]) if (name !== 'model.embed_tokens.weight') folder.weights.delete(name);

  const [ctx, steps, rounds] = quick ? [16, 8, 3] : [32, 32, 5];
  const adapters: LoraAdapter[] = Array.from({ length: variant === 'interleaved' ? 1 : 32 }, (_, i) => randomAdapter(cfg, 16, i + 1));
  const { basis } = await basisFor(adapters, cfg, true);
  const requests = (n: number, c: Case): GenerationRequest[] =>
    Array.from({ length: n }, (_, i) => ({
      prompt: Array.from({ length: ctx }, (_, j) => (i * 131 + j * 17 + 3) % cfg.vocabSize),
      adapter: c === 'multi' ? adapters[i] : null,
      shared: c === 'shared' ? { basis, task: i } : undefined,
      maxTokens: steps + 1,
    }));
  /** Tokens/s by wall time and CPU ms per step over `steps - 1` timed decode steps. */
  const decode = async (engine: Decoder, n: number, c: Case) => {
    const batch = new RunningBatch(engine, n);
    await batch.admit(requests(n, c).map((r, i) => newRow(r, i)));
    await batch.decode();
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    for (let s = 1; s < steps; s++) await batch.decode();
    const u = process.cpuUsage(cpu);
    return { tps: (n * (steps - 1)) / ((performance.now() - t0) / 1000), cpuMs: (u.user + u.system) / 1000 / (steps - 1) };
  };
  const one = { base: engines.plain, multi: engines.one, shared: engines.one, lora_graph: engines.one };
  const mine = { base: engines.paths, multi: engines.paths, shared: engines.paths };
  // 'interleaved': both variants in this process, batch 1 only (32 adapters' rows beside three decoders pass 3.5 GB).
  const cases: Record<string, Decoder> =
    variant === 'one'
      ? one
      : variant === 'paths'
        ? mine
        : {
            ...Object.fromEntries(Object.entries(one).map(([c, d]) => [`one_${c}`, d])),
            ...Object.fromEntries(Object.entries(mine).map(([c, d]) => [`paths_${c}`, d])),
          };
  const batches = variant === 'interleaved' ? [1] : [1, 32];
  const best: Record<number, Record<string, { tps: number; cpuMs: number }>> = {};
  for (const n of batches) {
    best[n] = {};
    for (let round = 0; round < rounds; round++)
      for (const [c, engine] of Object.entries(cases)) {
        const r = await decode(engine, n, c.replace(/^(one|paths)_/, '') as Case);
        best[n][c] ??= { tps: 0, cpuMs: Number.POSITIVE_INFINITY };
        const b = best[n][c];
        b.tps = Math.max(b.tps, r.tps);
        b.cpuMs = Math.min(b.cpuMs, r.cpuMs);
      }
  }
  const end = resident();
  const mapped = (await smapsBreakdown()).files.slice(0, 3);
  console.log(
    `after decoding: RSS ${end.rss.toFixed(0)} MB, PSS ${end.pss.toFixed(0)} MB, anonymous ${end.anon.toFixed(0)} MB; largest mapped files: ${mapped.map(([f, mb]) => `${f} ${mb.toFixed(0)} MB`).join(', ')}`,
  );
  const ratios = (n: number, prefix = '') => {
    const b = Object.fromEntries(
      Object.entries(best[n] ?? {})
        .filter(([c]) => c.startsWith(prefix))
        .map(([c, v]) => [c.slice(prefix.length), v]),
    );
    if (!b.base) return null;
    return {
      multi_vs_base_wall: b.multi.tps / b.base.tps,
      shared_vs_base_wall: b.shared.tps / b.base.tps,
      multi_vs_base_cpu: b.base.cpuMs / b.multi.cpuMs,
      shared_vs_base_cpu: b.base.cpuMs / b.shared.cpuMs,
    };
  };
  console.log(
    table(
      ['decoder', 'load s', 'RSS added MB', 'PSS added MB', 'anonymous added MB', 'paths'],
      Object.entries(loads).map(([k, l]) => [k, l.seconds, l.rss_mb, l.pss_mb, l.anon_mb, l.paths.join(' ')]),
    ),
  );
  const rows: (string | number)[][] = [];
  for (const n of batches)
    for (const [c, b] of Object.entries(best[n])) {
      const base = best[n][`${/^(one_|paths_)/.exec(c)?.[1] ?? ''}base`];
      rows.push([n, c, b.tps, b.tps / base.tps, b.cpuMs, base.cpuMs / b.cpuMs]);
    }
  console.log(`\n${variant}: decode, best of ${rounds} rounds in turn (${steps - 1} steps each):`);
  console.log(table(['batch', 'case', 'tokens/s (wall)', '÷ base (wall)', 'CPU ms/step', 'base CPU ÷ this'], rows));
  return {
    bench: 'engine-paths',
    quick,
    variant,
    model: 'SmolLM2-135M shape, random weights, fp32',
    shared_basis_k: SHARED_K,
    loads,
    after_decoding_mb: { ...end, mapped_files: Object.fromEntries(mapped) },
    decode: best,
    b1: variant === 'interleaved' ? { one: ratios(1, 'one_'), paths: ratios(1, 'paths_') } : ratios(1),
    b32: ratios(32),
  };
}
