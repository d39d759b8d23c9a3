/**
 * Requests that mix adapters (`adapters` in a request): decode tokens/s of 8 rows each serving the `cat` merge of
 * two adapters (rank 2r, what ModelCache builds for a mix) against 8 rows of one adapter each (rank r), measured in
 * turn, round after round, best of each, so load on the machine falls on both alike.
 */
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import type { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { catMerge } from '../gpu-backend/lowrank/merge-collapsed.ts';

const ROWS = 8;

export async function mixVsSingle(decoder: Decoder, adapters: LoraAdapter[], ctx: number, steps: number, quick: boolean) {
  const vocab = decoder.cfg.vocabSize;
  const member = (i: number) => ({ name: `a${i}`, baseModel: 'bench', adapter: adapters[i] });
  const single = adapters.slice(0, ROWS);
  const mixed = Array.from({ length: ROWS }, (_, i) => catMerge([member(2 * i), member(2 * i + 1)], [0.7, 0.3]));
  const decodeTps = async (perRow: LoraAdapter[]) => {
    const batch = new RunningBatch(decoder, ROWS);
    const requests = perRow.map((adapter, i) => ({
      prompt: Array.from({ length: ctx }, (_, j) => (i * 131 + j * 17 + 3) % vocab),
      adapter,
      maxTokens: steps + 1,
    }));
    await batch.admit(requests.map((r, i) => newRow(r, i)));
    await batch.decode(); // warm-up
    const t0 = performance.now();
    for (let s = 1; s < steps; s++) await batch.decode();
    return (ROWS * (steps - 1)) / ((performance.now() - t0) / 1000);
  };
  const best = { single: 0, mix2: 0 };
  for (let round = 0; round < (quick ? 2 : 3); round++) {
    best.single = Math.max(best.single, await decodeTps(single));
    best.mix2 = Math.max(best.mix2, await decodeTps(mixed));
  }
  return { rows: ROWS, single_tokens_per_s: best.single, mix2_tokens_per_s: best.mix2, mix2_vs_single_b8: best.mix2 / best.single };
}
