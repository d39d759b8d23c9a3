/**
 * `npm run bench -- scale --quick` end to end, as a smoke test: a small Llama-shaped bf16 checkpoint in two shards
 * through the whole product on its own stack (upload, register, float32 load, int4 quantization job, @int4 served
 * from the artifact with adapters and a shared basis, training, an rmm_shared merge). It checks that every step
 * ran without an error and every key came out; timings are the benchmark's business, not the test's.
 */
import { expect, test } from 'vitest';
import { run } from '../../bench/scale.ts';

test('the scale benchmark runs every step of its quick variant without an error', { timeout: 900_000 }, async () => {
  const out = await run(true);
  expect(out.error_samples).toEqual([]);
  expect(out).toMatchObject({ errors: 0, fp32_loads: true, train_steps_done: 20, train_timed_out: false });
  for (const key of [
    'int4_load_from_artifact_s',
    'int4_serving_rss_mb',
    'int4_b1_bandwidth_util',
    'int4_p1024_ttft_ms',
    'adapter_vs_base_b1',
    'train_tokens_per_s',
    'train_peak_rss_mb',
  ])
    expect(Number.isFinite(out[key]), key).toBe(true);
});
