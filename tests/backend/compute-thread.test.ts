/**
 * The compute thread of merge, revert and compression jobs (worker/compute-thread.ts): it starts before the job's
 * inputs are fetched, takes the members' factors moved rather than copied, and computes what the backend would
 * compute in process; a failed fetch or a stop while fetching ends it with the job.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { loadFixture, type Fixture } from '../../gpu-backend/cli/parity.ts';
import type { Member } from '../../gpu-backend/lowrank/members.ts';
import { computeInThread } from '../../gpu-backend/worker/compute-thread.ts';
import type { MergeSpec } from '../../gpu-backend/worker/edge-client.ts';
import { JobPhases } from '../../gpu-backend/worker/job-phases.ts';
import { mergeArtifact } from '../../gpu-backend/worker/merge.ts';
import { FIXTURE } from './helpers.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
});

const NAMES = ['task_a', 'task_b'];
const spec = {
  kind: 'merge',
  method: 'rmm_shared',
  basis_size: null,
  density: null,
  params: {},
  members: NAMES.map((name) => ({ id: name, name, storage_prefix: '', weight: null })),
} as unknown as MergeSpec;

/** Each factor copied into the start of a buffer of its own, over 64 KiB, as large members' are: the thread may take it. */
function inLargeBuffers(adapter: LoraAdapter): LoraAdapter {
  const own = (x: Float32Array) => {
    const copy = new Float32Array(new ArrayBuffer(Math.max(x.byteLength, 65_537 * 4))).subarray(0, x.length);
    copy.set(x);
    return copy;
  };
  return { ...adapter, modules: adapter.modules.map((m) => ({ ...m, a: own(m.a), b: own(m.b) })) };
}

const members = (): Member[] => NAMES.map((name) => ({ name, baseModel: 'tiny-llama', adapter: inLargeBuffers(fx.adapters.get(name)!) }));

describe('the compute thread', () => {
  test('computes the merge the backend computes in process, with the members moved to it, and says where its time went', async () => {
    const here = await mergeArtifact(spec, members());
    const moved = members();
    const phases = new JobPhases();
    const built = await computeInThread(async () => ({ spec, members: moved }), new AbortController().signal, phases);
    expect(built.files.map(([name]) => name)).toEqual(here.files.map(([name]) => name));
    for (const [i, [, bytes]] of built.files.entries()) expect(Buffer.from(bytes).equals(Buffer.from(here.files[i][1]))).toBe(true);
    // Moved, not copied: the backend's copies are detached.
    expect(moved[0].adapter.modules[0].a.byteLength).toBe(0);
    expect(Object.keys(phases.ms)).toEqual(['thread_io', 'thread_wait', 'merge', 'serialize']);
  });

  test("a fetch that fails is the job's error, and ends the thread", async () => {
    const failing = computeInThread(() => Promise.reject(new Error('the store is gone')), new AbortController().signal);
    await expect(failing).rejects.toThrow('the store is gone');
  });

  test('a stop while the inputs are fetched ends the job with the stop', async () => {
    const stop = new AbortController();
    const job = computeInThread(
      () =>
        new Promise((resolve) => {
          stop.abort(new Error('cancelled'));
          setTimeout(() => resolve({ spec, members: members() }), 50);
        }),
      stop.signal,
    );
    await expect(job).rejects.toThrow('cancelled');
  });
});
