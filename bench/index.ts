/**
 * `npm run bench -- <name> [--quick]`: benchmarks live apart from tests. Each prints a table, writes JSON to
 * bench/results/<name>.json and prints that JSON as its last line. The engine's sessions run on
 * EXECUTION_PROVIDER (auto, cuda, webgpu or cpu), as the backend's do; the JSON names the provider, and on WebGPU
 * through SwiftShader (no GPU) says its timings mean nothing: that run checks correctness only. ENGINE_PRECISION
 * (fp32 or fp16, WebGPU only) sets the serving graphs' precision as the backend's does; `fp16` compares both itself.
 */
import { parseEnginePrecision, useEnginePrecision } from '../gpu-backend/engine/precision.ts';
import { executionProviderInUse, parseExecutionProvider, swiftShaderInUse, useExecutionProvider } from '../gpu-backend/engine/providers.ts';
import { MERGE_HEAP_OPTION } from '../gpu-backend/worker/merge-heap.ts';

const benches: Record<string, () => Promise<{ run: (quick: boolean) => Promise<Record<string, unknown>> }>> = {
  engine: () => import('./engine.ts'),
  train: () => import('./train.ts'),
  merge: () => import('./merge.ts'),
  'merge-job': () => import('./merge-job.ts'),
  eigen: () => import('./eigen.ts'),
  serve: () => import('./serve.ts'),
  'edge-rounds': () => import('./edge-rounds.ts'),
  tokenizer: () => import('./tokenizer.ts'),
  'serve-replay': () => import('./serve-replay.ts'),
  'decode-adapters': () => import('./decode-adapters.ts'),
  'adapter-path': () => import('./adapter-path.ts'),
  'adapter-profile': () => import('./adapter-profile.ts'),
  'adapter-rss': () => import('./adapter-rss.ts'),
  'prepacked-sessions': () => import('./prepacked-sessions.ts'),
  'engine-paths': () => import('./engine-paths.ts'),
  fp16: () => import('./fp16.ts'),
  scale: () => import('./scale.ts'),
  prefill: () => import('./prefill.ts'),
  'long-prompt': () => import('./long-prompt.ts'),
  'serving-rss': () => import('./serving-rss.ts'),
  'first-decode': () => import('./first-decode.ts'),
  'decode-profile': () => import('./decode-profile.ts'),
  'factor-layout': () => import('./factor-layout.ts'),
  'adapter-1b': () => import('./adapter-1b.ts'),
};

const [name, ...flags] = process.argv.slice(2);
if (!name || !(name in benches)) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--quick]`);
  process.exit(2);
}
// Benches that merge on their own main thread run it with the heap the backend gives its compute thread
// (merge-heap.ts), which V8 sets only when it starts an isolate: so this process starts again with it.
const mergesHere = new Set(['merge', 'merge-job']);
if (mergesHere.has(name) && !process.execArgv.includes(MERGE_HEAP_OPTION)) {
  const { spawnSync } = await import('node:child_process');
  const again = spawnSync(process.execPath, [MERGE_HEAP_OPTION, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}
await useExecutionProvider(parseExecutionProvider(process.env.EXECUTION_PROVIDER));
const swiftShader = swiftShaderInUse();
const precision = useEnginePrecision(parseEnginePrecision(process.env.ENGINE_PRECISION), executionProviderInUse(), swiftShader);
if (swiftShader)
  console.log('WebGPU on SwiftShader (the CPU): the timings below say nothing about a GPU; this run checks correctness only.');
const { mkdir, writeFile } = await import('node:fs/promises');
const result = {
  execution_provider: executionProviderInUse(),
  engine_precision: precision,
  ...(swiftShader ? { timings_meaningful: false } : {}),
  ...(await (await benches[name]()).run(flags.includes('--quick'))),
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
