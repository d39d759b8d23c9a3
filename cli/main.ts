/**
 * The user-facing `rankgate` commands, a thin client of the public API (bin/rankgate.js sends `parity`, the
 * operator's command, to gpu-backend/cli instead). Returns the exit code: 0 done, 1 the API or the endpoint
 * said no (one line on stderr), 2 the command line was wrong.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { apiClient } from './api.ts';
import type { components } from './api-types.ts';
import { chat } from './commands/chat.ts';
import { embed } from './commands/embed.ts';
import { downloadAdapter, listAdapters, listVersions, pinAdapter, promoteVersion, uploadAdapter } from './commands/adapters.ts';
import { uploadFile } from './commands/files.ts';
import { cancelJob, createJob, watchJob } from './commands/jobs.ts';
import { compressAdapter, createMerge, quantizeBase, revertTask, showQuantizations } from './commands/merges.ts';
import { connection, DEFAULT_BASE_URL } from './connection.ts';
import { MERGE_METHODS as API_MERGE_METHODS, MERGE_PARAM_NAMES, declarationOf, paramDoc, paramOf } from '../contracts/api/merge-methods.ts';
import { PROJECTIONS } from '../contracts/formats/hf-config.ts';
import { POOLINGS } from '../contracts/api/embeddings.ts';
import { CliError, USAGE_EXIT } from './errors.ts';

type Schemas = components['schemas'];
type MergeMethod = Schemas['CreateMergeRequest']['method'];
type TargetModule = NonNullable<Schemas['Hyperparameters']['target_modules']>[number];

// The contracts' own lists, for the parser; `satisfies` checks that the API's generated types allow each value.
const MERGE_METHODS = API_MERGE_METHODS satisfies readonly MergeMethod[];
const TARGET_MODULES = PROJECTIONS satisfies readonly TargetModule[];

const integer = (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('expected an integer.');
  return Number(v);
};
const number = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number.');
  return n;
};
const list =
  <T>(item: (v: string) => T) =>
  (v: string) =>
    v.split(',').map((s) => item(s.trim()));
/** `--adapter name=weight`, repeatable: one entry of a request's `adapters` mix each time. */
const mixEntry = (v: string, prior: { name: string; weight: number }[] = []) => {
  const at = v.lastIndexOf('=');
  const weight = at > 0 ? Number(v.slice(at + 1)) : Number.NaN;
  if (at <= 0 || v.slice(at + 1).trim() === '' || !Number.isFinite(weight))
    throw new InvalidArgumentError('expected <adapter>=<weight>, e.g. task_a=0.7.');
  return [...prior, { name: v.slice(0, at), weight }];
};
const targetModule = (v: string): TargetModule => {
  if (!(TARGET_MODULES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected some of ${TARGET_MODULES.join(', ')}.`);
  return v as TargetModule;
};

function program(): Command {
  const root = new Command('rankgate')
    .description('Train, store, combine, undo and serve LoRA adapters: a client of the rankgate API.')
    .option('--base-url <url>', `API endpoint (env RANKGATE_BASE_URL; default ${DEFAULT_BASE_URL})`)
    .option('--api-key <key>', 'API key, rg-... (env RANKGATE_API_KEY)')
    .addHelpText(
      'after',
      '\nGuided tour: rankgate demo [--quick] (npm run demo).\nOperator command: rankgate parity <fixture-dir> (engine against reference outputs).',
    )
    .showSuggestionAfterError()
    .exitOverride();
  const api = (cmd: Command) => apiClient(connection(cmd.optsWithGlobals()));

  const adapters = root.command('adapters').description('upload, list, version, download and pin PEFT adapters');
  adapters
    .command('upload <peft-dir>')
    .description('upload a PEFT adapter folder (adapter_config.json, adapter_model.safetensors) and commit it')
    .requiredOption('--base <id>', 'base model name or id')
    .option('--name <name>', "adapter name (default: the folder's name); an existing name gets its next version")
    .action((dir: string, opts, cmd: Command) => uploadAdapter(api(cmd), dir, opts));
  adapters
    .command('list')
    .description('list your adapters')
    .option('--json', 'print the API objects as JSON')
    .action((opts, cmd: Command) => listAdapters(api(cmd), opts));
  adapters
    .command('versions <name>')
    .description('list the versions of an adapter name, newest first (* marks the one the name serves)')
    .option('--json', 'print the API objects as JSON')
    .action((name: string, opts, cmd: Command) => listVersions(api(cmd), name, opts));
  adapters
    .command('promote <name> <version>')
    .description('make a version (2 or v2) the one the name serves: a rollback; call any version as <name>@v<n>')
    .action((name: string, version: string, _opts, cmd: Command) => promoteVersion(api(cmd), name, version));
  adapters
    .command('download <id>')
    .description("download a ready adapter's PEFT files")
    .option('--out <dir>', 'folder to write them to (default: ./<id>)')
    .action((id: string, opts, cmd: Command) => downloadAdapter(api(cmd), id, opts));
  adapters
    .command('pin <id>')
    .description('keep a ready adapter loaded on the backend its requests go to (name or id)')
    .action((id: string, _opts, cmd: Command) => pinAdapter(api(cmd), id, true));
  adapters
    .command('unpin <id>')
    .description('let its backend evict the adapter again')
    .action((id: string, _opts, cmd: Command) => pinAdapter(api(cmd), id, false));

  root
    .command('files')
    .description('training files')
    .command('upload <path>')
    .description('upload a JSONL file ({"prompt","completion"} or {"messages"} per line) for fine-tuning')
    .action((path: string, _opts, cmd: Command) => uploadFile(api(cmd), path));

  const jobs = root.command('jobs').description('fine-tuning jobs');
  jobs
    .command('create')
    .description('start a fine-tuning job')
    .requiredOption('--model <base>', 'base model name or id')
    .requiredOption('--training-file <id>', 'file id from `rankgate files upload`')
    .option('--validation-file <id>', 'held-out file id')
    .option('--suffix <suffix>', "part of the adapter's name; the name of an adapter of this base trains its next version")
    .option('--seed <n>', 'random seed', integer)
    .option('--epochs <n>', 'n_epochs', integer)
    .option('--batch-size <n>', 'batch_size', integer)
    .option('--learning-rate <x>', 'learning_rate', number)
    .option('--lora-r <n>', 'LoRA rank', integer)
    .option('--lora-alpha <x>', 'LoRA alpha', number)
    .option('--target-modules <list>', `comma-separated, of ${TARGET_MODULES.join(',')}`, list(targetModule))
    .option('--watch', 'follow it until it ends, as `jobs watch` does')
    .option('--interval <ms>', 'how often --watch asks', integer, 1000)
    .action(async (opts, cmd: Command) => setExit(await createJob(api(cmd), opts)));
  jobs
    .command('watch <id>')
    .description("follow a job's progress (step, loss, tokens/s, ETA) until it ends; exits 1 unless it succeeded")
    .option('--interval <ms>', 'how often to ask', integer, 1000)
    .action(async (id: string, opts, cmd: Command) => setExit(await watchJob(api(cmd), id, opts)));
  jobs
    .command('cancel <id>')
    .description('cancel a job')
    .action((id: string, _opts, cmd: Command) => cancelJob(api(cmd), id));

  const merges = root.command('merges').description('merge adapters, and rebuild a task from a merge');
  const create = merges
    .command('create <name> <adapters...>')
    .description('merge two or more ready adapters of one base model')
    .requiredOption('--base <id>', 'base model name or id')
    .addOption(new Option('--method <method>', 'merge method').choices(MERGE_METHODS).makeOptionMandatory());
  // One option per parameter the methods declare (--basis-size for basis_size), read as its kind says.
  for (const param of MERGE_PARAM_NAMES) {
    const { kind } = paramOf(param);
    const flag = `--${param.replaceAll('_', '-')} ${kind === 'numbers' ? '<list>' : kind === 'integer' ? '<n>' : '<x>'}`;
    const parse: (v: string) => number | number[] = kind === 'integer' ? integer : kind === 'number' ? number : list(number);
    create.option(flag, (kind === 'numbers' ? 'comma-separated; ' : '') + paramDoc(param), parse);
  }
  create
    .addHelpText('after', `\nMethods:\n${MERGE_METHODS.map((m) => `  ${m.padEnd(16)} ${declarationOf(m).summary}`).join('\n')}`)
    .action((name: string, members: string[], opts, cmd: Command) => createMerge(api(cmd), name, members, opts));
  merges
    .command('revert <merge> <task>')
    .description('rebuild one member task of a reversible merge as its own adapter')
    .option('--name <name>', 'name of the new adapter (default: <merge>-<task>)')
    .action((merge: string, task: string, opts, cmd: Command) => revertTask(api(cmd), merge, task, opts));

  root
    .command('compress <adapter>')
    .description('compress an adapter to a rank, an energy fraction or a byte budget, optionally quantized')
    .option('--rank <n>', 'truncate to this rank', integer)
    .option('--energy <x>', 'or keep this fraction of the spectral energy', number)
    .option('--budget-bytes <n>', 'or fit in this many bytes', integer)
    .option('--bits <n>', 'quantize factors to 4 or 8 bits (16: no quantization)', integer)
    .option('--name <name>', 'name of the compressed adapter')
    .action((adapter: string, opts, cmd: Command) => compressAdapter(api(cmd), adapter, opts));

  root
    .command('quantize <base>')
    .description('quantize a base model once to 4 or 8 bits and store it, to call as <base>@int4 / <base>@int8')
    .requiredOption('--bits <n>', '4 or 8', integer)
    .option('--group-size <n>', 'weights per scale: 32, 64 or 128 (default 32)', integer)
    .action((base: string, opts, cmd: Command) => quantizeBase(api(cmd), base, opts));
  root
    .command('quantizations <base> [id]')
    .description("list a base model's quantizations (newest first), or show one")
    .action((base: string, id: string | undefined, _opts, cmd: Command) => showQuantizations(api(cmd), base, id));

  root
    .command('chat [message...]')
    .description('send one message (or stdin) and stream the answer')
    .requiredOption('--model <model>', '<base>, <base>:<adapter>, <base>:<merge> or <base>:<merge>/<task>')
    .option('--system <text>', 'system message')
    .option('--max-tokens <n>', 'most tokens to generate', integer)
    .option('--temperature <x>', '0 for greedy', number)
    .option('--adapter <name=weight>', 'mix this adapter of the base in --model at this weight (repeat, up to 8)', mixEntry)
    .action((words: string[], opts, cmd: Command) => chat(api(cmd), words, opts));
  root
    .command('embed [texts...]')
    .description('embed each text (or each line of stdin): unit-length vectors of the last hidden state, as JSON')
    .requiredOption('--model <model>', '<base>, <base>:<adapter>, <base>:<merge> or <base>:<merge>/<task>')
    .addOption(new Option('--pooling <how>', 'mean over the tokens (default) or the last token').choices(POOLINGS))
    .option('--adapter <name=weight>', 'mix this adapter of the base in --model at this weight (repeat, up to 8)', mixEntry)
    .action((texts: string[], opts, cmd: Command) => embed(api(cmd), texts, opts));

  return root;
}

let exitCode = 0;
/** Commands that end with a verdict rather than an error (jobs watch) set the exit code here. */
function setExit(code: number): void {
  exitCode = code;
}

export async function main(argv: string[]): Promise<number> {
  exitCode = 0;
  try {
    await program().parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_EXIT;
    if (err instanceof CliError) {
      process.stderr.write(`rankgate: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
