/**
 * The inference graph (prefill and decode alike) on WebGPU places on the CPU only int64 shape and index
 * arithmetic, which touches no activation: per layer, the Shape → Gather → Concat that sizes the Split of the
 * attention probabilities (the Split reads its sizes on the host anyway), and the Unsqueeze of the host-fed
 * logits_index. WGSL has no 64-bit integers, so onnxruntime's WebGPU provider registers no int64 Concat, Gather or
 * Unsqueeze. Any other node on the CPU would cost a device round trip per decode step: this test fails on it.
 */
import { expect, test } from 'vitest';
import { nodePlacement } from './placement.ts';

const LAYERS = 2;

test.each(['inference', 'inference-bf16'] as const)(
  'the %s graph has no CPU fallback but the int64 shape and index nodes',
  async (kind) => {
    const { counts, cpu } = await nodePlacement(kind);
    expect(counts.WebGpuExecutionProvider).toBeGreaterThan(120); // 154 since each RMSNorm is one node
    const kinds = cpu.map(({ op, name }) =>
      op === 'Concat' && /^\/model\/layers\.\d+\/attn\/Concat_\d+$/.test(name)
        ? 'split sizes: Concat'
        : op === 'Gather' && /^Gather(_token_\d+)?$/.test(name)
          ? 'split sizes: Gather (of a Shape, made by the transpose optimizer)'
          : op === 'Unsqueeze' && name === '/model/logits_index/Unsqueeze'
            ? 'logits_index: Unsqueeze'
            : `${op} ${name}`,
    );
    expect(kinds.sort()).toEqual(
      [
        ...Array(LAYERS).fill('split sizes: Concat'),
        ...Array(LAYERS).fill('split sizes: Gather (of a Shape, made by the transpose optimizer)'),
        'logits_index: Unsqueeze',
      ].sort(),
    );
  },
);
