import { expect, test } from 'vitest';
import { PREFILL_CHUNK, prefillChunk } from '../../gpu-backend/engine/prefill.ts';

// Llama-3.2-1B has 32 heads, SmolLM-135M 9. A cache fits the prompt plus one position, in steps of 64.
test('a long prompt runs in steps whose attention scores over the cache stay within the chunked budget', () => {
  // 1,024 tokens at 1B over a 1,088-position cache: 256 a step would hold 44 MB of scores, 128 (under the one-step
  // budget) 20 MB, 64 9.4 MB.
  expect(prefillChunk(1, 32, 1024, 1088)).toBe(64);
  expect(prefillChunk(1, 32, 512, 576)).toBe(128);
  expect(prefillChunk(1, 32, 4096, 4160)).toBe(64);
  // At 135M the same prompt keeps the largest step.
  expect(prefillChunk(1, 9, 1024, 1088)).toBe(PREFILL_CHUNK);
});

test('a prompt that fits one step runs as one step (it reads no cache)', () => {
  expect(prefillChunk(1, 32, 256, 320)).toBe(256);
  expect(prefillChunk(1, 32, 100, 128)).toBe(100);
  // bench engine's prefill_mfu case: 8 × 256 at 135M.
  expect(prefillChunk(8, 9, 256, 320)).toBe(256);
  // Eight 256-token prompts at 1B together would hold 67 MB of scores in one step.
  expect(prefillChunk(8, 32, 256, 320)).toBe(64);
});
