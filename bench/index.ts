/**
 * `npm run bench -- <name> [--quick]`: benchmarks live apart from tests. Each prints a table, writes JSON to
 * bench/results/<name>.json and prints that JSON as its last line.
 */
const benches: Record<string, () => Promise<{ run: (quick: boolean) => Promise<Record<string, unknown>> }>> = {
  engine: () => import('./engine.ts'),
  train: () => import('./train.ts'),
  merge: () => import('./merge.ts'),
  serve: () => import('./serve.ts'),
};

const [name, ...flags] = process.argv.slice(2);
if (!name || !(name in benches)) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--quick]`);
  process.exit(2);
}
const { mkdir, writeFile } = await import('node:fs/promises');
const result = await (await benches[name]()).run(flags.includes('--quick'));
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
