/**
 * JSON output's cost in `npm run bench -- engine`: decode tokens/s at batch 8 with every row under a JSON schema
 * (xgrammar's token mask per row and step, applied before sampling), over the same 8 rows free, measured in turn.
 * The random model has no tokenizer, so xgrammar gets a synthetic one of the model's vocabulary size: the printable
 * characters, then deterministic 2-6 letter pieces (a BPE vocabulary's shape, not its text). Rows sample at
 * temperature 1; a row that finishes leaves the batch, so tokens/s counts the rows actually decoded per step.
 */
import type { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch, type GenerationRequest } from '../gpu-backend/engine/generate.ts';
import { JsonGrammars, type JsonFormat } from '../gpu-backend/grammar/json-grammars.ts';

/** A long string field: rows stay in the grammar's body for the whole measurement rather than finishing. */
const SCHEMA: JsonFormat = {
  type: 'json_schema',
  json_schema: {
    name: 'bench',
    schema: {
      type: 'object',
      properties: { kind: { enum: ['note', 'task'] }, text: { type: 'string', minLength: 64 } },
      required: ['kind', 'text'],
    },
  },
};

function syntheticVocabulary(size: number): string[] {
  const tokens: string[] = [];
  let x = 12345;
  for (let i = 0; i < size; i++) {
    if (i < 95) {
      tokens.push(String.fromCharCode(32 + i));
      continue;
    }
    let s = i % 7 === 0 ? ' ' : '';
    for (let k = 0; k < 2 + (i % 5); k++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      s += String.fromCharCode(97 + ((x >>> 16) % 26));
    }
    tokens.push(s);
  }
  return tokens;
}

export interface JsonSchemaBench {
  tokenizer_info_ms: number;
  compile_ms: number;
  decode_b8_tokens_per_s: { free: number; json_schema: number };
  json_schema_vs_free_b8: number;
}

export async function jsonSchemaVsFree(
  decoder: Decoder,
  requests: (n: number) => GenerationRequest[],
  steps: number,
  rounds: number,
): Promise<JsonSchemaBench> {
  const vocab = syntheticVocabulary(decoder.cfg.vocabSize);
  const stop = vocab.length - 1;
  let t = performance.now();
  const grammars = await JsonGrammars.create({ vocabulary: () => ({ tokens: vocab, type: 'raw' }) }, vocab.length, [stop]);
  const tokenizerInfoMs = performance.now() - t;
  t = performance.now();
  const grammar = await grammars.grammar(SCHEMA);
  const compileMs = performance.now() - t;

  const tps = async (constrained: boolean) => {
    const reqs = requests(8).map((r, i) => ({ ...r, temperature: 1, seed: i, stop: [stop] }));
    const constraints = constrained ? await Promise.all(reqs.map(() => grammar.constraint())) : [];
    constraints.forEach((c, i) => (reqs[i].constraint = c));
    const batch = new RunningBatch(decoder, 8);
    await batch.admit(reqs.map((r, i) => newRow(r, i)));
    await batch.decode(); // warm-up
    let tokens = 0;
    const t0 = performance.now();
    for (let s = 1; s < steps && batch.size > 0; s++) {
      tokens += batch.size;
      await batch.decode();
    }
    const seconds = (performance.now() - t0) / 1000;
    batch.clear();
    for (const c of constraints) c.dispose();
    return tokens / seconds;
  };
  const best = { free: 0, json_schema: 0 };
  try {
    for (let round = 0; round < rounds; round++) {
      best.free = Math.max(best.free, await tps(false));
      best.json_schema = Math.max(best.json_schema, await tps(true));
    }
  } finally {
    // The grammar thread would otherwise keep the bench's process alive after it printed its result.
    await grammars.close();
  }
  return {
    tokenizer_info_ms: tokenizerInfoMs,
    compile_ms: compileMs,
    decode_b8_tokens_per_s: best,
    json_schema_vs_free_b8: best.json_schema / best.free,
  };
}
