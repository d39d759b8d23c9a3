/**
 * `npm run bench -- tokenizer [--quick]`: what the tokenizer sandbox (gpu-backend/formats/served-tokenizer.ts) costs
 * a request, against the same tokenizer in process (TextTokenizer) measured in the same run, the yardstick:
 *  - the default model's tokenizer: a chat request (render the template, then tokenize), and text prompts of 1 KiB,
 *    8 KiB and 100 KiB, one at a time (latency) and 16 chat requests at once (the model's one process serializes);
 *  - loading: the sandbox's process start and load check, and its resident memory, for the default model and for
 *    a synthetic tokenizer.json of Llama-3's size (byte-level BPE, 128,000 tokens, 280,000 merges, Llama-3's
 *    pre-tokenizer pattern with its lookahead), which is what TOKENIZER_MEMORY_MB's default must hold.
 * Each latency is the median of many calls; the ratio is sandbox over in-process.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readdir } from 'node:fs/promises';
import { ServedTokenizer } from '../gpu-backend/formats/served-tokenizer.ts';
import { TextTokenizer } from '../gpu-backend/formats/tokenizer.ts';
import { DEFAULT_TOKENIZER_LIMITS } from '../gpu-backend/formats/tokenizer-sandbox.ts';
import { table } from './measure.ts';

const DEFAULT_MODEL = join(import.meta.dirname, '..', 'models', 'rankgate-tiny', 'base');

const CHAT = [
  { role: 'system', content: 'You answer in one short line.' },
  { role: 'user', content: 'upper: the quick brown fox jumps over the lazy dog' },
  { role: 'assistant', content: 'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG' },
  { role: 'user', content: 'reverse: hello world' },
];

/** Median milliseconds of `fn` over `n` calls, after a few to warm up. */
async function medianMs(fn: () => Promise<unknown> | unknown, n: number): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}

/** Resident memory (MiB) of this process's children: the sandbox processes (Linux /proc). */
async function childrenRssMb(): Promise<number> {
  let kb = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (Number(/PPid:\s+(\d+)/.exec(status)?.[1]) === process.pid) kb += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  }
  return kb / 1024;
}

/** Deterministic pseudo-random integers (xorshift). */
function randomInts(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % below;
  };
}

/** A byte-level BPE tokenizer.json of Llama-3's size (random tokens and merges: its speed is not Llama-3's, its size is). */
export function llama3SizedTokenizer(): Record<string, unknown> {
  const rand = randomInts(7);
  const letters = 'abcdefghijklmnopqrstuvwxyzĠĊ';
  const vocab: Record<string, number> = {};
  const tokens: string[] = [];
  while (tokens.length < 128_000) {
    let t = '';
    const len = 2 + rand(8);
    for (let i = 0; i < len; i++) t += letters[rand(letters.length)];
    if (!(t in vocab)) {
      vocab[t] = tokens.length;
      tokens.push(t);
    }
  }
  const merges: string[] = [];
  for (let i = 0; i < 280_000; i++) merges.push(`${tokens[rand(tokens.length)]} ${tokens[rand(tokens.length)]}`);
  return {
    version: '1.0',
    added_tokens: [
      { id: 128_000, content: '<|begin_of_text|>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex:
              "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
          },
          behavior: 'Isolated',
          invert: false,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges },
  };
}

/** Loads a sandboxed tokenizer: how long, how much memory its process holds, and the longest the serving thread stalled meanwhile. */
async function loadCost(dir: string): Promise<{ loadMs: number; rssMb: number; stallMs: number; sandbox: ServedTokenizer }> {
  const before = await childrenRssMb();
  const stalls = monitorEventLoopDelay({ resolution: 5 });
  stalls.enable();
  const t = performance.now();
  const sandbox = (await ServedTokenizer.load(dir))!;
  const loadMs = performance.now() - t;
  stalls.disable();
  return { loadMs, rssMb: (await childrenRssMb()) - before, stallMs: stalls.max / 1e6, sandbox };
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const n = quick ? 50 : 300;
  const inProcess = await TextTokenizer.load(DEFAULT_MODEL);
  const { loadMs, rssMb, stallMs, sandbox } = await loadCost(DEFAULT_MODEL);
  const prompt = (bytes: number) => 'the quick brown fox jumps over the lazy dog\n'.repeat(Math.ceil(bytes / 44)).slice(0, bytes);
  const cases: [string, () => unknown, () => Promise<unknown>, number][] = [
    [
      'chat (render + tokenize)',
      () => inProcess.encode(inProcess.applyChatTemplate(CHAT, true)),
      async () => sandbox.encode(await sandbox.applyChatTemplate(CHAT, true)),
      n,
    ],
    ...[1, 8, 100].map((kib): [string, () => unknown, () => Promise<unknown>, number] => {
      const text = prompt(kib * 1024);
      return [
        `text ${kib} KiB`,
        () => inProcess.encode(text, true),
        () => sandbox.encode(text, true),
        kib >= 100 ? Math.max(10, n / 10) : n,
      ];
    }),
  ];
  const rows: (string | number)[][] = [];
  const result: Record<string, unknown> = { quick, sandbox_load_ms: loadMs, sandbox_rss_mb: rssMb, sandbox_load_max_stall_ms: stallMs };
  for (const [name, inline, sandboxed, calls] of cases) {
    const a = await medianMs(inline, calls);
    const b = await medianMs(sandboxed, calls);
    rows.push([name, a, b, b - a, b / a]);
    const key = name.split(' ')[0] === 'chat' ? 'chat' : name.replace(/ /g, '_').toLowerCase();
    Object.assign(result, { [`${key}_in_process_ms`]: a, [`${key}_sandbox_ms`]: b, [`${key}_sandbox_over_in_process`]: b / a });
  }
  // 16 chat requests at once: in process they run back to back on the serving thread; in the sandbox, on the model's process.
  const burst = async (one: () => Promise<unknown>) => {
    const t = performance.now();
    await Promise.all(Array.from({ length: 16 }, one));
    return performance.now() - t;
  };
  const burstIn = await medianMs(() => burst(async () => inProcess.encode(inProcess.applyChatTemplate(CHAT, true))), quick ? 10 : 50);
  const burstOut = await medianMs(() => burst(async () => sandbox.encode(await sandbox.applyChatTemplate(CHAT, true))), quick ? 10 : 50);
  rows.push(['16 chats at once', burstIn, burstOut, burstOut - burstIn, burstOut / burstIn]);
  Object.assign(result, { chat16_in_process_ms: burstIn, chat16_sandbox_ms: burstOut, chat16_sandbox_over_in_process: burstOut / burstIn });
  await sandbox.close();

  const dir = await mkdtemp(join(tmpdir(), 'rankgate-bench-tok-'));
  try {
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(llama3SizedTokenizer()));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|begin_of_text|>' }));
    const big = await loadCost(dir);
    const text = prompt(8 * 1024);
    const bigMs = await medianMs(() => big.sandbox.encode(text, true), quick ? 10 : 50);
    Object.assign(result, {
      llama3_sized_load_ms: big.loadMs,
      llama3_sized_rss_mb: big.rssMb,
      llama3_sized_load_max_stall_ms: big.stallMs,
      llama3_sized_text_8_kib_sandbox_ms: bigMs,
    });
    await big.sandbox.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  console.log('Default model tokenizer, median ms per call (in process: the yardstick, same run)');
  console.log(table(['case', 'in process', 'sandbox', 'added', 'ratio'], rows));
  console.log(
    `\nSandbox load (process start + check): default model ${result.sandbox_load_ms as number | 0} ms, ${(result.sandbox_rss_mb as number).toFixed(0)} MiB resident; ` +
      `Llama-3-sized tokenizer.json ${result.llama3_sized_load_ms as number | 0} ms, ${(result.llama3_sized_rss_mb as number).toFixed(0)} MiB resident (cap ${DEFAULT_TOKENIZER_LIMITS.memoryMb} MiB heap), 8 KiB text ${(result.llama3_sized_text_8_kib_sandbox_ms as number).toFixed(2)} ms; ` +
      `longest stall of the serving thread while loading: ${(result.sandbox_load_max_stall_ms as number).toFixed(0)} ms (default model), ${(result.llama3_sized_load_max_stall_ms as number).toFixed(0)} ms (Llama-3-sized).`,
  );
  return result;
}
