/**
 * `npm run bench -- merge-job [--quick]`: bench scale's last step alone, an `rmm_shared` merge of 8 random r16 adapters
 * (all seven projections, Llama-3.2-1B's shape; quick: scale's small shape) as the product runs it, a backend job, and
 * where its time goes. No base weights and no training: the merge reads only the base's config.
 *  - Stack: bench scale's (bench-stack.ts: s3rver, the edge, one backend process); the base registered from its
 *    config.json alone; the adapters uploaded and committed through the edge as bench scale does.
 *  - Each round (full run: two) starts a fresh backend on an empty model cache, so the adapters are downloaded again,
 *    POSTs the merge (basis_size 4), and polls it every 50 ms. It reports the wall time from the POST to `succeeded`,
 *    the backend's CPU over it, and the backend's own split of the job from the line it logs when the job ends
 *    (worker/job-phases.ts): fetch, parse, the compute thread (thread_io: the members copied in and the files back;
 *    thread_start; merge; serialize), publish, complete (the edge's check). "before the claim" is the rest: the
 *    edge's wake reaching the backend (or, for a backend without it, the claim poll's wait) and the bench's own
 *    polling (at most 50 ms).
 *  - Then, in turn, the same merge in this process on the same members (mergeArtifact, as the compute thread runs it):
 *    the algebra alone, with its serialization, and its CPU.
 *  - The basis tensors' SHA-256 from the job's manifest, and whether the in-process merge wrote the same bytes.
 *  - MERGE_JOB_FLOAT_BITS=16 merges with float_bits 16 (the parts rounded to and stored in float16).
 *  - With MERGE_JOB_BASELINE (the path of another checkout), rounds alternate between that checkout's backend and
 *    this one's (four rounds in a full run), so a change is compared in turn on a loaded machine; the in-process
 *    merge then runs once, after the last round.
 * No yardstick: every figure is a time of one job, and the ratios that matter (the algebra's share of the job) are
 * taken within a run.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import { ARTIFACT_MANIFEST, BASIS_TENSORS } from '../contracts/formats/job-artifacts.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import type { MergeSpec } from '../gpu-backend/worker/edge-client.ts';
import { mergeArtifact } from '../gpu-backend/worker/merge.ts';
import type { BackendProcess } from '../scripts/backend-process.ts';
import { EdgeApi } from '../scripts/edge-api.ts';
import type { EdgeStack } from '../scripts/edge-stack.ts';
import { ADMIN_TOKEN, startBenchBackend, startEdgeAndBackend } from './bench-stack.ts';
import { table } from './measure.ts';
import { cpuMs } from './proc-stats.ts';
import { LLAMA_1B_CONFIG } from './random-checkpoint.ts';
import { finished, SMALL_CONFIG, uploadRandomAdapters } from './scale.ts';

const BASE = 'merge-job-base';
const PREFIX = 'bench/merge-job-base/';
const ADAPTERS = 8;
const BASIS_SIZE = 4;
const POLL_MS = 50;
const BOX_S = 300;

/** The phases the backend logs for a job (`phases (ms): fetch=812 parse=1203 …`), from its log. */
function loggedPhases(logs: string, jobId: string): Record<string, number> | null {
  const line = logs.split('\n').find((l) => l.includes(`merge/${jobId} phases (ms):`));
  if (!line) return null;
  const phases: Record<string, number> = {};
  for (const [, name, ms] of line.matchAll(/(\w+)=(\d+)/g)) phases[name] = Number(ms);
  return phases;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const rawConfig = quick ? SMALL_CONFIG : LLAMA_1B_CONFIG;
  const cfg = parseModelConfig(rawConfig);
  const baseline = process.env.MERGE_JOB_BASELINE;
  const floatBits = Number(process.env.MERGE_JOB_FLOAT_BITS ?? 32);
  const rounds = (quick ? 1 : 2) * (baseline ? 2 : 1);
  /** The checkout a round's backend runs from: with a baseline, odd rounds are its. */
  const checkoutOf = (round: number) => (baseline && round % 2 === 1 ? baseline : undefined);
  const stateDir = await mkdtemp(join(tmpdir(), 'rankgate-bench-merge-job-'));
  const rows: [string, string | number][] = [];
  const out: Record<string, unknown> = {
    bench: 'merge-job',
    quick,
    shape: quick ? 'small' : 'llama-3.2-1b',
    basis_size: BASIS_SIZE,
    float_bits: floatBits,
  };
  let edge: EdgeStack | null = null;
  let backend: BackendProcess | null = null;
  try {
    ({ edge, backend } = await startEdgeAndBackend({ stateDir }));
    const api = await EdgeApi.newTenant(edge.edgeUrl, ADMIN_TOKEN, 'bench');
    // The merge reads the base's config only; registration wants an index beside it, which nothing here reads.
    await edge.store.put(`${PREFIX}config.json`, JSON.stringify(rawConfig));
    await edge.store.put(`${PREFIX}model.safetensors.index.json`, JSON.stringify({ metadata: {}, weight_map: {} }));
    await api.json('/v1/base-models', { body: { name: BASE, storage_prefix: PREFIX } }, 201);
    const names = Array.from({ length: ADAPTERS }, (_, i) => `a${i}`);
    const { adapters, bytes: memberBytes, refused } = await uploadRandomAdapters(api, cfg, BASE, names, (line) => console.log(line));
    if (refused.length) throw new Error(`adapters ${refused.join(', ')} were refused`);
    out.member_mb = memberBytes / 1024 ** 2;

    const jobs: { checkout: string; wallS: number; cpuS: number; phases: Record<string, number> }[] = [];
    const inProcess: { wallS: number; cpuS: number; phases: Record<string, number> }[] = [];
    let jobTensorsSha = '';
    let inProcessSha = '';
    for (let round = 0; round < rounds; round++) {
      if (round > 0) {
        await backend.stop();
        backend = await startBenchBackend(edge, stateDir, { CACHE_DIR: join(stateDir, `backend-cache-${round}`) }, checkoutOf(round));
      }
      const pid = backend.child.pid!;
      const cpu0 = await cpuMs(pid);
      const t0 = performance.now();
      const merge = await api.json(
        '/v1/merges',
        {
          body: {
            name: `eight-${round}`,
            base_model: BASE,
            adapters: names,
            method: 'rmm_shared',
            basis_size: BASIS_SIZE,
            ...(floatBits === 16 ? { float_bits: 16 } : {}),
          },
        },
        201,
      );
      const done = await finished(api, `/v1/merges/${merge.id}`, BOX_S, POLL_MS);
      const wallS = (performance.now() - t0) / 1000;
      const cpuS = ((await cpuMs(pid)) - cpu0) / 1000;
      if (done?.status !== 'succeeded')
        throw new Error(`merge ${merge.id} did not succeed: ${JSON.stringify(done)}\n${backend.logs().slice(-3000)}`);
      const phases = loggedPhases(backend.logs(), merge.id);
      if (!phases) throw new Error(`the backend logged no phases for merge ${merge.id}:\n${backend.logs().slice(-3000)}`);
      const inBackend = Object.values(phases).reduce((a, b) => a + b, 0);
      jobs.push({ checkout: checkoutOf(round) ?? 'this', wallS, cpuS, phases: { before_claim: wallS * 1000 - inBackend, ...phases } });
      // Each round as it ends, so a run stopped half-way still says what it measured.
      console.log(`round ${round + 1} (${jobs.at(-1)!.checkout}): ${JSON.stringify(jobs.at(-1))}`);
      const manifestKey = (await edge.store.list('')).find((k) => k.includes(merge.id) && k.endsWith(ARTIFACT_MANIFEST));
      const manifest = JSON.parse((await edge.store.getText(manifestKey!))!) as { files: { name: string; sha256: string }[] };
      const tensorsSha = manifest.files.find((f) => f.name === BASIS_TENSORS)!.sha256;
      if (jobTensorsSha && tensorsSha !== jobTensorsSha) throw new Error(`round ${round + 1}'s basis tensors differ from round 1's`);
      jobTensorsSha = tensorsSha;
      if (baseline && round < rounds - 1) continue;

      // The same merge here, named as the job names its members (by adapter id).
      const ids = ((done.result as { tasks: { adapter_id: string }[] }).tasks ?? []).map((t) => t.adapter_id);
      const members: Member[] = adapters.map((adapter, i) => ({ name: ids[i], baseModel: BASE, adapter }));
      const spec = {
        method: 'rmm_shared',
        basis_size: BASIS_SIZE,
        density: null,
        params: floatBits === 16 ? { float_bits: 16 } : {},
        members: ids.map((id, i) => ({ id, name: names[i], storage_prefix: '', weight: null })),
      } as unknown as MergeSpec;
      const c0 = process.cpuUsage();
      const t1 = performance.now();
      const built = await mergeArtifact(spec, members);
      const c1 = process.cpuUsage(c0);
      inProcess.push({ wallS: (performance.now() - t1) / 1000, cpuS: (c1.user + c1.system) / 1e6, phases: built.phases ?? {} });
      inProcessSha = sha256(built.files.find(([name]) => name === BASIS_TENSORS)![1]);
    }

    const best = <T extends { wallS: number }>(xs: T[]) => xs.reduce((a, b) => (b.wallS < a.wallS ? b : a));
    const job = best(jobs.filter((j) => j.checkout === 'this'));
    const here = best(inProcess);
    for (const [i, j] of jobs.entries()) {
      const name = `round ${i + 1}${baseline ? ` (${j.checkout === 'this' ? 'this checkout' : 'baseline'})` : ''}`;
      rows.push([`${name}: merge job, POST to succeeded, s`, j.wallS], [`${name}: backend CPU over the job, s`, j.cpuS]);
      for (const [phase, ms] of Object.entries(j.phases)) rows.push([`${name}:   ${phase}, s`, ms / 1000]);
    }
    for (const [i, m] of inProcess.entries())
      rows.push([`in-process merge ${i + 1} (merge + serialize), s`, m.wallS], [`in-process merge ${i + 1}: its CPU, s`, m.cpuS]);
    rows.push(['basis tensors equal in-process and job', String(inProcessSha === jobTensorsSha)]);
    Object.assign(out, {
      merge_job_s: job.wallS,
      merge_job_cpu_s: job.cpuS,
      merge_job_phases_ms: job.phases,
      merge_job_rounds: jobs.map((j) => ({ checkout: j.checkout, s: j.wallS, cpu_s: j.cpuS, phases_ms: j.phases })),
      in_process_merge_s: here.wallS,
      in_process_merge_cpu_s: here.cpuS,
      in_process_phases_ms: here.phases,
      algebra_share_of_job: (job.phases.merge ?? 0) / (job.wallS * 1000),
      basis_tensors_sha256: jobTensorsSha,
      in_process_equals_job: inProcessSha === jobTensorsSha,
    });
  } finally {
    await backend?.stop();
    await edge?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
  console.log(`\n${table(['step', 'value'], rows)}`);
  return out;
}
