/**
 * `npm run demo` / `rankgate demo`: a guided tour of rankgate through its public API, against a running stack
 * (`npm start`). Trains four adapters of the default model, serves them in one mixed batch, merges them
 * reversibly and with TIES, compresses one, evaluates every variant on held-out examples, prints the accuracy
 * and storage table and writes report.html. A second run reuses what the first one made.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { apiClient } from '../cli/api.ts';
import { connection, DEFAULT_BASE_URL } from '../cli/connection.ts';
import { CliError, USAGE_EXIT } from '../cli/errors.ts';
import { buildCompressions, buildMerges } from './artifact-step.ts';
import { taskData } from './datasets.ts';
import { evaluateVariants } from './evaluation.ts';
import { chartLibrary, reportHtml } from './report.ts';
import { type DemoResults, trainingCurve } from './results.ts';
import { heading, say } from './say.ts';
import { DEMO_TASKS, FULL, QUICK } from './sizes.ts';
import { formatTable, tableRows } from './table.ts';
import { serveMixed, train } from './train-step.ts';

interface Options {
  baseUrl?: string;
  apiKey?: string;
  quick?: boolean;
  out: string;
}

async function timed<T>(stages: DemoResults['stages'], name: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await run();
  stages.push({ name, seconds: (performance.now() - t0) / 1000 });
  return out;
}

export async function runDemo(opts: Options): Promise<void> {
  const api = apiClient(connection(opts));
  const sizes = opts.quick ? QUICK : FULL;
  const started = performance.now();
  const stages: DemoResults['stages'] = [];
  const data = DEMO_TASKS.map((t) => taskData(t, sizes.trainExamples, sizes.heldOut));

  const adapters = await timed(stages, 'train (upload, jobs, follow)', () => train(api, data, sizes));
  await timed(stages, 'mixed batch', () => serveMixed(api, adapters, data));
  const merges = await timed(stages, 'merges', () => buildMerges(api, adapters, data));
  const compressions = await timed(stages, 'compressions', () => buildCompressions(api, adapters[0]));

  const variants = await timed(stages, 'evaluation', () => evaluateVariants(api, data, { adapters, merges, compressions }));

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
