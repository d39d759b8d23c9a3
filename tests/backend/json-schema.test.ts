/**
 * JSON output under a schema (constrained decoding through xgrammar) on the tiny-llama fixture with the default
 * model's character-level tokenizer, as the e2e stack serves it: every answer parses and validates (ajv) across
 * prompts, seeds and adapters; rows without a schema in the same batch are untouched; a schema xgrammar cannot
 * compile is refused naming what it could not compile; compiling happens off the serving thread, and compiled
 * grammars dropped from the cache are disposed.
 */
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, test } from 'vitest';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { loadFixture, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { generate, type GenerationRequest } from '../../gpu-backend/engine/generate.ts';
import { closeJsonGrammars, JsonGrammars, jsonGrammarsFor, type JsonFormat } from '../../gpu-backend/grammar/json-grammars.ts';
import type { TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import { defaultModelTokenizer, FIXTURE } from './helpers.ts';

let fx: Fixture;
let tok: TextTokenizer;
let grammars: JsonGrammars;

beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
  tok = defaultModelTokenizer();
  grammars = await JsonGrammars.create(tok, fx.decoder.cfg.vocabSize, fx.eos);
});

const SCHEMAS: Record<string, Record<string, unknown>> = {
  enums: {
    type: 'object',
    properties: { color: { enum: ['red', 'green', 'blue'] }, ok: { type: 'boolean' } },
    required: ['color', 'ok'],
    additionalProperties: false,
  },
  nested: {
    type: 'object',
    properties: {
      user: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 6 }, age: { type: 'integer', minimum: 0, maximum: 120 } },
        required: ['name', 'age'],
      },
    },
    required: ['user'],
  },
  arrays: {
    type: 'object',
    properties: {
      tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 4 },
      count: { type: 'integer', minimum: 0, maximum: 9 },
    },
    required: ['tags', 'count'],
  },
};

const PROMPTS = ['Give me a color.', 'Who is the user?', 'tags please'];

const chat = (text: string) => tok.encode(tok.applyChatTemplate([{ role: 'user', content: text }], true));
const text = (tokens: number[]) => tok.decode(tokens.filter((t) => !fx.eos.includes(t)));

async function constrained(format: JsonFormat, prompt: string, adapter: LoraAdapter | null, seed: number): Promise<GenerationRequest> {
  const grammar = await grammars.grammar(format);
  return { prompt: chat(prompt), adapter, maxTokens: 100, temperature: 1, seed, stop: fx.eos, constraint: await grammar.constraint() };
}

describe('JSON-schema output', () => {
  test('every answer parses and validates, across schemas, prompts, seeds and adapters', async () => {
    const ajv = new Ajv({ strict: false });
    const adapters = [null, fx.adapters.get('task_a')!, fx.adapters.get('task_b')!];
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const validate = ajv.compile(schema);
      const format: JsonFormat = { type: 'json_schema', json_schema: { name, schema } };
      const requests = await Promise.all(PROMPTS.flatMap((p, i) => adapters.map((a, j) => constrained(format, p, a, 10 * i + j))));
      // All rows in one batch: schema rows with different adapters decode side by side.
      const results = await generate(fx.decoder, requests, { maxBatch: requests.length });
      for (const r of results) {
        const out = text(r.tokens);
        expect({ name, out, finish: r.finishReason }).toMatchObject({ finish: 'stop' });
        const value = JSON.parse(out);
        expect({ name, out, valid: validate(value), errors: validate.errors }).toMatchObject({ valid: true });
      }
    }
  });

  test('json_object gives a JSON object', async () => {
    const requests = await Promise.all(PROMPTS.map((p, i) => constrained({ type: 'json_object' }, p, null, i)));
    for (const r of await generate(fx.decoder, requests)) {
      const out = text(r.tokens);
      if (r.finishReason === 'length') expect(out.startsWith('{')).toBe(true);
      else expect(typeof JSON.parse(out) === 'object' && !Array.isArray(JSON.parse(out))).toBe(true);
    }
  });

  test('a row without a schema beside schema rows gets the same tokens as alone', async () => {
    const free = (): GenerationRequest => ({
      prompt: chat('hello'),
      adapter: fx.adapters.get('task_a')!,
      maxTokens: 40,
      temperature: 1,
      seed: 7,
      stop: fx.eos,
    });
    const [alone] = await generate(fx.decoder, [free()]);
    const format: JsonFormat = { type: 'json_schema', json_schema: { name: 'enums', schema: SCHEMAS.enums } };
    const mixed = await generate(fx.decoder, [await constrained(format, 'x', null, 1), free(), await constrained(format, 'y', null, 2)], {
      maxBatch: 3,
    });
    expect(mixed[1].tokens).toEqual(alone.tokens);
  });

  test('a schema xgrammar cannot compile is refused, saying what it could not compile; compiling works after', async () => {
    const refused = async (schema: Record<string, unknown>) => {
      const err = await grammars.grammar({ type: 'json_schema', json_schema: { name: 'bad', schema } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).param).toBe('response_format');
      return (err as Error).message;
    };
    expect(await refused({ type: 'string', pattern: '(?=a)b' })).toMatch(/Lookahead is not supported/);
    expect(await refused({ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } })).toMatch(/missing/);
    const ok = await grammars.grammar({
      type: 'json_schema',
      json_schema: { name: 'fine', schema: { type: 'object', properties: { z: { type: 'boolean' } }, required: ['z'] } },
    });
    const [r] = await generate(fx.decoder, [
      { prompt: chat('z'), adapter: null, maxTokens: 30, temperature: 1, seed: 3, stop: fx.eos, constraint: await ok.constraint() },
    ]);
    expect(JSON.parse(text(r.tokens))).toHaveProperty('z');
    console.log(`json-schema compile ms: ${grammars.compileMs.map((ms) => ms.toFixed(1)).join(', ')}`);
  });

  test('compiling a large schema leaves the serving thread running: the event loop turns while it compiles', async () => {
    // 200 properties, each an object of enums: seconds of compilation on a real vocabulary, far more than one turn here.
    const properties = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [
        `p${i}`,
        {
          type: 'object',
          properties: { kind: { enum: ['x', 'y', `z${i}`] }, n: { type: 'integer', minimum: 0, maximum: i } },
          required: ['kind'],
        },
      ]),
    );
    let compiling = true;
    const compiled = grammars.grammar({ type: 'json_schema', json_schema: { name: 'large', schema: { type: 'object', properties } } });
    void compiled.finally(() => (compiling = false));
    let turns = 0;
    while (compiling) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    await compiled;
    // On the serving thread the compilation ran to its end before the loop turned once.
    expect(turns).toBeGreaterThan(10);
  });

  test('grammars dropped from the compile cache are disposed, once no row uses them', async () => {
    const small = await JsonGrammars.create(tok, fx.decoder.cfg.vocabSize, fx.eos, { maxCompiled: 2 });
    try {
      const format = (n: number): JsonFormat => ({
        type: 'json_schema',
        json_schema: { name: `s${n}`, schema: { type: 'object', properties: { [`k${n}`]: { type: 'integer' } }, required: [`k${n}`] } },
      });
      const inUse = await (await small.grammar(format(1))).constraint();
      await small.grammar(format(2));
      await small.grammar(format(3));
      // s1 left the cache, but a row still decodes under it.
      expect(await small.held()).toEqual({ grammars: 3, matchers: 1 });
      inUse.dispose();
      expect(await small.held()).toEqual({ grammars: 2, matchers: 0 });
      await small.grammar(format(4));
      expect(await small.held()).toEqual({ grammars: 2, matchers: 0 });
    } finally {
      await small.close();
    }
  });

  test("a tokenizer's grammar thread ends when its base model is evicted (closeJsonGrammars)", async () => {
    const evicted = defaultModelTokenizer();
    const held = await jsonGrammarsFor(evicted, fx.decoder.cfg.vocabSize, fx.eos);
    expect(await held.held()).toEqual({ grammars: 0, matchers: 0 });
    await closeJsonGrammars(evicted);
    await expect(held.held()).rejects.toThrow('the grammar thread exited');
    // The next use starts a new thread.
    expect(await jsonGrammarsFor(evicted, fx.decoder.cfg.vocabSize, fx.eos)).not.toBe(held);
    await closeJsonGrammars(evicted);
  });
});
