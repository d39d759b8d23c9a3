/** RoPE cos/sin tables for given positions, computed on the host exactly as transformers does in float32. */
import { ropeInverseFrequencies, type ModelConfig } from '../../contracts/formats/hf-config.ts';

export class RopeTables {
  private readonly inv: Float32Array;
  constructor(private readonly cfg: ModelConfig) {
    this.inv = ropeInverseFrequencies(cfg);
  }

  /** Fills cos/sin [rows, seq, 1, head_dim] for position `start[r] + t`. */
  fill(start: ArrayLike<number>, seq: number): { cos: Float32Array; sin: Float32Array } {
    const hd = this.cfg.headDim;
    const half = hd / 2;
    const rows = start.length;
    const cos = new Float32Array(rows * seq * hd);
    const sin = new Float32Array(rows * seq * hd);
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < seq; t++) {
        const pos = start[r] + t;
        const at = (r * seq + t) * hd;
        for (let i = 0; i < half; i++) {
          const f = Math.fround(pos * this.inv[i]);
          const c = Math.cos(f);
          const s = Math.sin(f);
          cos[at + i] = c;
          cos[at + i + half] = c;
          sin[at + i] = s;
          sin[at + i + half] = s;
        }
      }
    }
    return { cos, sin };
  }
}
