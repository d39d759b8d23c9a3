/**
 * `npm run bench -- first-decode`: the first requests a fresh backend serves from a stored int4 artifact, one after
 * another, each with what it cost and what else the machine did meanwhile (issue 18: `bench scale` read a fresh
 * backend's batch-1 decode about 25% below the same base's later requests). The part of `bench scale` this needs and
 * no more (no fp32 load, adapters or training, so each process stays under ~1.5 GB): the stack (s3rver, the edge,
 * one backend), the Llama-3.2-1B-shaped bf16 checkpoint uploaded, registered, its int4 quantization job; then
 * rounds, each a fresh backend on the same model cache whose first request (one token) loads the artifact, followed
 * by `FIRST_DECODE_REQUESTS` (default 4) batch-1 requests of a 16-token prompt and 24 tokens.
 *
 * Rounds (`FIRST_DECODE_ROUNDS`, comma-separated, default `scale,sync,scale,sync`):
 *  - `scale`: as `bench scale` serves (the first round after the job is exactly its sequence); later rounds delete the
 *    cached artifact first, so it is fetched and written again, as after the job;
 *  - `sync`: the same, then `sync` after the load, so the files just written are on disk before the first decode;
 *  - `cached`: the artifact already in the model cache (nothing fetched or written).
 * With FIRST_DECODE_OTHER (a path), every other round's backend runs from that checkout instead (another commit).
 *
 * Per request: decode tokens/s and TTFT as the client sees them (through the edge), the backend's CPU (its process
 * group, by command name), everything else's CPU on the machine (/proc/stat less the backend), the backend's
 * page faults, and the kernel's Dirty + Writeback memory at the request's start.
 * The checkpoint is bench/long-prompt.ts's when it is there (LONG_PROMPT_DIR, hard-linked), else written here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { PACKED_WEIGHTS_FILE } from '../contracts/formats/job-artifacts.ts';
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import { tokenizerConfigJson } from '../gpu-backend/default-model/tokenizer-files.ts';
import { TextTokenizer } from '../gpu-backend/formats/tokenizer.ts';
import type { BackendProcess } from '../scripts/backend-process.ts';
import { EdgeApi } from '../scripts/edge-api.ts';
import type { EdgeStack } from '../scripts/edge-stack.ts';
import { ADMIN_TOKEN, startBenchBackend, startEdgeAndBackend } from './bench-stack.ts';
import { table } from './measure.ts';
import { cpuMs, groupCpuMs } from './proc-stats.ts';
import { LLAMA_1B_CONFIG, writeRandomCheckpoint } from './random-checkpoint.ts';
import { copyBytesPerS, finished, promptOf, streamed, uploadCheckpoint } from './scale.ts';

const BASE = 'first-decode-base';
const PREFIX = 'bench/first-decode-base/';
const DECODE_TOKENS = 24;

type Mode = 'scale' | 'sync' | 'cached';

/** Busy and total CPU ticks of the whole machine (/proc/stat's first line). */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** Minor and major page faults of a process (its threads included). */
async function faults(pid: number): Promise<{ minor: number; major: number }> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { minor: Number(f[7]), major: Number(f[9]) };
}

/** Resident KB of a process by mapping (its file, or [heap], [anon], ...), from /proc/<pid>/smaps. */
async function residentByMapping(pid: number): Promise<Map<string, number>> {
  const by = new Map<string, number>();
  let name = '';
  for (const line of (await readFile(`/proc/${pid}/smaps`, 'utf8')).split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = head[1] || '[anon]';
    else if (line.startsWith('Rss:')) by.set(name, (by.get(name) ?? 0) + Number(line.split(/\s+/)[1]));
  }
  return by;
}

/**
 * CPU ms of every process on the machine, by command name; kernel threads (children of kthreadd, pid 2) summed as
 * one, `[kernel threads]`, since a kworker's name changes with the work it does (writeback, flush, ...).
 */
async function cpuByName(): Promise<Map<string, number>> {
  const by = new Map<string, number>();
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => null);
    if (!s) continue;
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const name = f[1] === '2' ? '[kernel threads]' : s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
    by.set(name, (by.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * TICK_MS);
  }
  return by;
}

/** The largest positive differences b − a, as "name +n" (at most `n`, of at least `min`). */
function grown(a: Map<string, number>, b: Map<string, number>, n: number, min: number): string {
  return [...b]
    .map(([k, v]) => [k.split('/').pop() ?? k, v - (a.get(k) ?? 0)] as const)
    .filter(([, d]) => d >= min)
    .sort((x, y) => y[1] - x[1])
    .slice(0, n)
    .map(([k, d]) => `${k} +${d.toFixed(0)}`)
    .join(', ');
}

/** Dirty and Writeback memory, MB. */
async function dirtyMb(): Promise<number> {
  const info = await readFile('/proc/meminfo', 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(info)?.[1] ?? 0);
  return (kb('Dirty') + kb('Writeback')) / 1024;
}

const TICK_MS = 1000 / (Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);

interface Sample {
  round: string;
  request: number;
  tokensPerS: number;
  ttftMs: number;
  backendCpuMs: number;
  tokenizerCpuMs: number;
  othersCpuMs: number;
  /** Of the others, the kernel's threads (writeback among them). */
  kernelCpuMs: number;
  wallMs: number;
  minorFaults: number;
  majorFaults: number;
  dirtyMb: number;
  error?: string;
}

const sum = (byName: Record<string, number>) => Object.values(byName).reduce((a, b) => a + b, 0);

/** CPU ms of the backend process itself and of its process group (the tokenizer's process with it). */
async function backendCpu(pid: number): Promise<{ own: number; group: Record<string, number> }> {
  const [own, group] = await Promise.all([cpuMs(pid), groupCpuMs(pid)]);
  return { own, group };
}

/** One request, with the CPU the backend and everything else spent while it ran. */
async function measured(api: EdgeApi, pid: number, model: string, prompt: string, tokens: number) {
  const [cpu0, m0, f0, dirty, maps0, names0] = await Promise.all([
    backendCpu(pid),
    machineTicks(),
    faults(pid),
    dirtyMb(),
    residentByMapping(pid),
    cpuByName(),
  ]);
  const t0 = performance.now();
  const r = await streamed(api, model, prompt, tokens);
  const wallMs = performance.now() - t0;
  const [cpu1, m1, f1, maps1, names1] = await Promise.all([
    backendCpu(pid),
    machineTicks(),
    faults(pid),
    residentByMapping(pid),
    cpuByName(),
  ]);
  console.log(`  resident KB grown: ${grown(maps0, maps1, 5, 256)}`);
  console.log(`  CPU ms by command: ${grown(names0, names1, 8, 50)}`);
  const kernel = (names1.get('[kernel threads]') ?? 0) - (names0.get('[kernel threads]') ?? 0);
  const total = sum(cpu1.group) - sum(cpu0.group);
  const backendCpuMs = cpu1.own - cpu0.own;
  return {
    r,
    backendCpuMs,
    tokenizerCpuMs: total - backendCpuMs,
    othersCpuMs: (m1.busy - m0.busy) * TICK_MS - total,
    kernelCpuMs: kernel,
    wallMs,
    minorFaults: f1.minor - f0.minor,
    majorFaults: f1.major - f0.major,
    dirtyMb: dirty,
  };
}

/** The checkpoint folder: long-prompt's (hard-linked, read only) when it is there, else a fresh random one. */
async function checkpoint(stateDir: string): Promise<string> {
  const dir = join(stateDir, 'checkpoint');
  const cached = join(process.env.LONG_PROMPT_DIR ?? tmpdir(), 'rankgate-long-prompt');
  if (!existsSync(join(cached, 'model.safetensors.index.json'))) {
    await writeRandomCheckpoint(dir, LLAMA_1B_CONFIG, { shards: 2 });
    return dir;
  }
  await mkdir(dir);
  for (const name of await readdir(cached))
    if (name.endsWith('.json') || name.startsWith('model')) await link(join(cached, name), join(dir, name));
  return dir;
}

export async function run(): Promise<Record<string, unknown>> {
  const modes = (process.env.FIRST_DECODE_ROUNDS ?? 'scale,sync,scale,sync').split(',') as Mode[];
  const requests = Number(process.env.FIRST_DECODE_REQUESTS ?? 4);
  const cfg = parseModelConfig(LLAMA_1B_CONFIG);
  const stateDir = await mkdtemp(join(tmpdir(), 'rankgate-bench-first-decode-'));
  const cacheDir = join(stateDir, 'backend-cache');
  const backendEnv = { HEARTBEAT_EVERY_MS: '2000' };
  const samples: Sample[] = [];
  const out: Record<string, unknown> = { bench: 'first-decode', shape: 'llama-3.2-1b', modes, requests };
  let edge: EdgeStack | null = null;
  let backend: BackendProcess | null = null;
  try {
    const ckpt = await checkpoint(stateDir);
    ({ edge, backend } = await startEdgeAndBackend({ stateDir, backendEnv }));
    const api = await EdgeApi.newTenant(edge.edgeUrl, ADMIN_TOKEN, 'bench');
    const tokenizer = await uploadCheckpoint(edge, ckpt, cfg.vocabSize, PREFIX);
    const base = await api.json('/v1/base-models', { body: { name: BASE, storage_prefix: PREFIX } }, 201);
    let t = performance.now();
    const quantization = await api.json(`/v1/base-models/${base.id}/quantizations`, { body: { bits: 4 } }, 202);
    const quantized = await finished(api, `/v1/base-models/${base.id}/quantizations/${quantization.id}`, 900);
    if (quantized?.status !== 'succeeded') throw new Error(`the quantization job did not succeed: ${JSON.stringify(quantized)}`);
    console.log(`quantization job: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    out.packed_bytes = quantized.result?.packed_bytes;
    const tok = new TextTokenizer(new Tokenizer(tokenizer, tokenizerConfigJson()), tokenizerConfigJson());
    const p16 = promptOf(tok, 16);
    const int4 = `${BASE}@int4`;
    out.copy_gb_per_s_before = copyBytesPerS() / 1e9;
    for (const [round, mode] of modes.entries()) {
      await backend.stop();
      if (round > 0 && mode !== 'cached')
        for (const dir of await readdir(cacheDir, { recursive: true }).catch(() => [] as string[]))
          if (dir.endsWith(PACKED_WEIGHTS_FILE)) await rm(join(cacheDir, dir));
      // FIRST_DECODE_OTHER: another checkout (node_modules beside it) whose backend serves every other round, so two
      // commits' fresh backends are compared in turn on one stack and one model cache.
      const other = process.env.FIRST_DECODE_OTHER && round % 2 === 1 ? process.env.FIRST_DECODE_OTHER : undefined;
      backend = await startBenchBackend(edge, stateDir, backendEnv, other);
      const pid = backend.child.pid!;
      const label = `${round}:${mode}${other ? ':other' : ''}`;
      t = performance.now();
      const load = await measured(api, pid, int4, p16, 1);
      console.log(`${label} load + 1 token: ${((performance.now() - t) / 1000).toFixed(1)} s, dirty ${(await dirtyMb()).toFixed(0)} MB`);
      if (mode === 'sync') {
        t = performance.now();
        execFileSync('sync');
        console.log(`${label} sync: ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
      for (let i = 0; i < requests; i++) {
        const m = await measured(api, pid, int4, p16, DECODE_TOKENS);
        const s: Sample = {
          round: label,
          request: i,
          tokensPerS: m.r.decodeTokensPerS,
          ttftMs: m.r.ttftMs,
          backendCpuMs: m.backendCpuMs,
          tokenizerCpuMs: m.tokenizerCpuMs,
          othersCpuMs: m.othersCpuMs,
          kernelCpuMs: m.kernelCpuMs,
          wallMs: m.wallMs,
          minorFaults: m.minorFaults,
          majorFaults: m.majorFaults,
          dirtyMb: m.dirtyMb,
          ...(m.r.error ? { error: m.r.error } : {}),
        };
        samples.push(s);
        console.log(JSON.stringify(s));
      }
      void load;
    }
    out.copy_gb_per_s_after = copyBytesPerS() / 1e9;
  } finally {
    await backend?.stop();
    await edge?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
  console.log(
    table(
      [
        'round',
        'req',
        'tokens/s',
        'TTFT ms',
        'backend CPU ms',
        'tokenizer CPU ms',
        'others CPU ms',
        'kernel threads CPU ms',
        'wall ms',
        'minflt',
        'majflt',
        'dirty MB',
      ],
      samples.map((s) => [
        s.round,
        s.request,
        s.tokensPerS.toFixed(1),
        s.ttftMs.toFixed(0),
        s.backendCpuMs.toFixed(0),
        s.tokenizerCpuMs.toFixed(0),
        s.othersCpuMs.toFixed(0),
        s.kernelCpuMs.toFixed(0),
        s.wallMs.toFixed(0),
        s.minorFaults,
        s.majorFaults,
        s.dirtyMb.toFixed(0),
      ]),
    ),
  );
  return { ...out, samples };
}
