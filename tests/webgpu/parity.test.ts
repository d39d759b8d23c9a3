/**
 * `rankgate parity` on WebGPU: the engine against transformers + PEFT on the shared fixture, at the CLI's own
 * tolerances (logits 1e-4 absolute, loss 1e-5 and gradients 1e-4 relative, AdamW 1e-5). The fixture's logits are
 * O(1) and float32 rounding through two layers stays near 1e-6 (the CPU provider measures 1.2e-6 to 9.2e-6 here,
 * WebGPU on SwiftShader 1.4e-6 to 9.9e-6), so 1e-4 leaves room for another GPU's summation order while still
 * catching any wrong op, whose error is O(1e-2) or more.
 */
import { expect, test } from 'vitest';
import { LOGITS_TOLERANCE, runParity } from '../../gpu-backend/cli/parity.ts';
import { executionProviderInUse } from '../../gpu-backend/engine/providers.ts';
import { FIXTURE } from '../backend/helpers.ts';

test('the shared fixture matches transformers + PEFT on WebGPU: logits, greedy tokens, loss, gradients, one AdamW step', async () => {
  expect(executionProviderInUse()).toBe('webgpu');
  const report = await runParity(FIXTURE);
  expect(report.unchecked).toEqual([]);
  expect(Object.keys(report.max_abs_diff).length).toBeGreaterThan(0);
  for (const diff of Object.values(report.max_abs_diff)) expect(diff).toBeLessThan(LOGITS_TOLERANCE);
  expect(Object.values(report.generate_match).every(Boolean)).toBe(true);
  expect(Object.keys(report.grad_rel_diff).length).toBeGreaterThan(0);
  expect(report.ok).toBe(true);
});
