/**
 * `npm run demo` / `rankgate demo`: a guided tour of rankgate through its public API, against a running stack
 * (`npm start`). Trains four adapters of the default model, serves them in one mixed batch, merges them
 * reversibly and with TIES, compresses one, evaluates every variant on held-out examples, prints the accuracy
 * and storage table and writes report.html. A second run reuses what the first one made.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { apiClient, type ApiClient } from '../cli/api.ts';
import { connection, DEFAULT_BASE_URL } from '../cli/connection.ts';
import { CliError, USAGE_EXIT } from '../cli/errors.ts';
import { compress, compressionModel, merge, mergeModel, mergeTaskModel } from './artifacts.ts';
import { type TaskData, taskData } from './datasets.ts';
import { accuracy, complete, mixedBatch } from './inference.ts';
import { listCompressions, listJobs, listMerges } from './listing.ts';
import { chartLibrary, reportHtml } from './report.ts';
import { type DemoResults, trainingCurve, type Variant } from './results.ts';
import { DEMO_TASKS, FULL, LORA, QUICK, type DemoSizes } from './sizes.ts';
import { formatTable, tableRows } from './table.ts';
import { BASE_MODEL, followJob, jobSuffix, startJob, type TrainedAdapter } from './training.ts';

interface Options {
  baseUrl?: string;
  apiKey?: string;
  quick?: boolean;
  out: string;
}

/** Reversible merges at these basis sizes (p, in adapters' worth): below the four adapters, so each keeps a fraction. */
const BASIS_SIZES = [1, 2];
const HALF_RANK = LORA.lora_r / 2;

const say = (line: string) => process.stdout.write(`${line}\n`);
const heading = (line: string) => say(`\n== ${line}`);

async function timed<T>(stages: DemoResults['stages'], name: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await run();
  stages.push({ name, seconds: (performance.now() - t0) / 1000 });
  return out;
}

async function train(api: ApiClient, data: TaskData[], sizes: DemoSizes, quick: boolean): Promise<TrainedAdapter[]> {
  heading(`Training ${data.length} adapters on ${BASE_MODEL} (${sizes.trainExamples} examples each, batch ${sizes.batchSize}, one epoch)`);
  const jobs = await listJobs(api);
  const started = [];
  // All queued first, so the backend trains them back to back while we watch.
  for (const d of data) {
    const { job, reused } = await startJob(api, d, sizes, jobSuffix(d, quick), jobs);
    say(`${d.task}: ${reused ? `reusing ${job.id} (${job.status})` : `uploaded ${d.train.length} lines, started ${job.id}`}`);
    started.push({ task: d.task, id: job.id });
  }
  const trained: TrainedAdapter[] = [];
  for (const s of started) {
    say(`\n${s.task} (${s.id})`);
    trained.push(await followJob(api, s.task, s.id));
  }
  return trained;
}

async function serveMixed(api: ApiClient, adapters: TrainedAdapter[], data: TaskData[]): Promise<void> {
  heading('One mixed batch: a request to each adapter, sent together');
  const { rows, seconds } = await mixedBatch(
    api,
    adapters.map((a, i) => ({ model: a.model, example: data[i].heldOut[0] })),
  );
  for (const r of rows)
    say(
      `${r.model}  ${JSON.stringify(r.prompt)} -> ${JSON.stringify(r.answer)} ${r.answer === r.expected ? '(right)' : `(expected ${JSON.stringify(r.expected)})`}`,
    );
  say(`${rows.length} requests in ${seconds.toFixed(2)} s`);
}

const adapterName = (a: TrainedAdapter) => a.model.slice(a.model.indexOf(':') + 1);

async function buildMerges(api: ApiClient, adapters: TrainedAdapter[], data: TaskData[], prefix: string) {
  heading('Merges: reversible (rmm_factor) and TIES');
  const existing = await listMerges(api);
  const members = adapters.map(adapterName);
  const reversible = [];
  for (const p of BASIS_SIZES) {
    const m = await merge(api, { name: `${prefix}-rmm-p${p}`, adapters: members, method: 'rmm_factor', basis_size: p }, existing);
    say(
      `${m.name}: storage ${m.result?.storage_fraction.toFixed(3)} of the ${members.length} adapters; per-task error ${m.result?.tasks.map((t) => t.relative_error.toFixed(3)).join(', ')}`,
    );
    reversible.push({ p, merge: m });
  }
  const ties = await merge(api, { name: `${prefix}-ties`, adapters: members, method: 'ties' }, existing);
  say(
    `${ties.name}: storage ${ties.result?.storage_fraction.toFixed(3)}, rank ${ties.result?.rank}; per-task error ${ties.result?.tasks.map((t) => t.relative_error.toFixed(3)).join(', ')}`,
  );
  say('Each task through the merges:');
  const last = reversible.at(-1)!.merge;
  for (const [i, a] of adapters.entries()) {
    const example = data[i].heldOut[0];
    const viaRmm = await complete(api, mergeTaskModel(last, adapterName(a)), example.prompt);
    const viaTies = await complete(api, mergeModel(ties), example.prompt);
    say(
      `  ${JSON.stringify(example.prompt.trimEnd())}: ${mergeTaskModel(last, adapterName(a))} -> ${JSON.stringify(viaRmm)}; ${mergeModel(ties)} -> ${JSON.stringify(viaTies)}; expected ${JSON.stringify(example.completion)}`,
    );
  }
  return { reversible, ties };
}

async function buildCompressions(api: ApiClient, adapter: TrainedAdapter) {
  heading(`Compressions of ${adapterName(adapter)}: half rank (${HALF_RANK}) and int8`);
  const existing = await listCompressions(api);
  const name = adapterName(adapter);
  const halfRank = await compress(api, { adapter: name, name: `${name}-r${HALF_RANK}`, rank: HALF_RANK, bits: 16 }, existing);
  const int8 = await compress(api, { adapter: name, name: `${name}-int8`, bits: 8 }, existing);
  for (const c of [halfRank, int8])
    say(
      `${c.name}: ${c.result?.bytes_before} -> ${c.result?.bytes_after} bytes (${c.result?.storage_ratio.toFixed(3)}), error ${c.result?.relative_error.toFixed(4)}`,
    );
  return { halfRank, int8 };
}

export async function runDemo(opts: Options): Promise<void> {
  const api = apiClient(connection(opts));
  const quick = opts.quick === true;
  const sizes = quick ? QUICK : FULL;
  const prefix = quick ? 'demoq' : 'demo';
  const started = performance.now();
  const stages: DemoResults['stages'] = [];
  const data = DEMO_TASKS.map((t) => taskData(t, sizes.trainExamples, sizes.heldOut));

  const adapters = await timed(stages, 'train (upload, jobs, follow)', () => train(api, data, sizes, quick));
  await timed(stages, 'mixed batch', () => serveMixed(api, adapters, data));
  const merges = await timed(stages, 'merges', () => buildMerges(api, adapters, data, prefix));
  const compressions = await timed(stages, 'compressions', () => buildCompressions(api, adapters[0]));

  heading(`Evaluating every variant on ${sizes.heldOut} held-out examples per task (exact match, temperature 0)`);
  const variants: Variant[] = [];
  const evaluate = async (label: string, method: string, storage: number, modelFor: (i: number) => string | null) => {
    const acc: Record<string, number> = {};
    for (const [i, d] of data.entries()) {
      const model = modelFor(i);
      if (model) acc[d.slug] = await accuracy(api, model, d.heldOut);
    }
    variants.push({ label, method, storage, accuracy: acc });
    say(
      `${label}: ${Object.entries(acc)
        .map(([t, a]) => `${t} ${a.toFixed(2)}`)
        .join(', ')}`,
    );
  };
  await timed(stages, 'evaluation', async () => {
    await evaluate('base', 'base model', 0, () => BASE_MODEL);
    await evaluate('adapter', 'adapters', 1, (i) => adapters[i].model);
    for (const { p, merge: m } of merges.reversible)
      await evaluate(`rmm p=${p}`, 'rmm_factor', m.result?.storage_fraction ?? Number.NaN, (i) =>
        mergeTaskModel(m, adapterName(adapters[i])),
      );
    await evaluate('ties', 'ties', merges.ties.result?.storage_fraction ?? Number.NaN, () => mergeModel(merges.ties));
    await evaluate(`rank ${HALF_RANK}`, 'compression', compressions.halfRank.result?.storage_ratio ?? Number.NaN, (i) =>
      i === 0 ? compressionModel(compressions.halfRank) : null,
    );
    await evaluate('int8', 'compression', compressions.int8.result?.storage_ratio ?? Number.NaN, (i) =>
      i === 0 ? compressionModel(compressions.int8) : null,
    );
  });

  const results: DemoResults = {
    tasks: data.map((d) => d.slug),
    variants,
    curves: adapters.map((a, i) => trainingCurve(data[i].slug, a.steps)),
    stages,
  };
  heading('Held-out exact match per task, and storage over the adapters each variant replaces');
  say(formatTable(tableRows(results)));
  const out = resolve(opts.out);
  await writeFile(out, reportHtml(results, await chartLibrary()));
  say(`\nreport: ${out}`);
  say(
    `done in ${((performance.now() - started) / 1000).toFixed(0)} s (${stages.map((s) => `${s.name} ${s.seconds.toFixed(0)} s`).join(', ')})`,
  );
}

function program(): Command {
  return new Command('rankgate demo')
    .description('a guided tour of rankgate through its API, against a running stack (npm start)')
    .option('--base-url <url>', `API endpoint (env RANKGATE_BASE_URL; default ${DEFAULT_BASE_URL})`)
    .option('--api-key <key>', 'API key, rg-... (env RANKGATE_API_KEY; npm start prints one)')
    .option('--quick', `smaller sizes: ${QUICK.trainExamples} training examples per task, ${QUICK.heldOut} held out`)
    .option('--out <file>', 'where to write the report', 'report.html')
    .exitOverride()
    .action((opts: Options) => runDemo(opts));
}

/** Returns the exit code, as cli/main.ts does: 1 when the API or the endpoint said no, 2 for a wrong command line. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv[0] === 'demo' ? argv.slice(1) : argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_EXIT;
    if (err instanceof CliError) {
      process.stderr.write(`\nrankgate demo: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
