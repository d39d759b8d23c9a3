/**
 * The official `openai` Node SDK, unchanged, pointed at the edge of the real stack (s3rver, the edge in Miniflare, a
 * backend process): models, chat and text completions (streamed and not), logprobs, n, stop, seed, user,
 * usage in streams, JSON output under a schema, embeddings, and the refusal of options rankgate does not serve.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_PROMPT_BYTES } from '../../contracts/api/openai.ts';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import { forwardLogits } from '../../gpu-backend/cli/parity.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { generate } from '../../gpu-backend/engine/generate.ts';
import { tokenLogprobs } from '../../gpu-backend/engine/sampling.ts';
import { readAdapterFolder, readModelFolder } from '../../gpu-backend/formats/files.ts';
import { TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import { mergeCollapsed } from '../../gpu-backend/lowrank/merge-collapsed.ts';
import { FIXTURE, fixtureTenant, startStack, uploadFixtureAdapter, type Stack, withStackLogs } from './stack.ts';

const MODEL = 'tiny-llama:task-a';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ leaseTtlS: 30 });
  const api = await fixtureTenant(stack, 'openai-sdk');
  await uploadFixtureAdapter(api, 'task-a');
  // No retries: a failure shows as it happened.
  client = new OpenAI({ apiKey: api.key, baseURL: `${stack.edge.edgeUrl}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
});

const withLogs = <T>(run: () => Promise<T>) => withStackLogs(stack, run);

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'upper: red fox' }];

describe('models', () => {
  test('list and retrieve; an unknown id is a 404 NotFoundError', () =>
    withLogs(async () => {
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(expect.arrayContaining(['tiny-llama', MODEL]));
      expect(await client.models.retrieve(MODEL)).toMatchObject({ id: MODEL, object: 'model' });
      const missing = await client.models.retrieve('tiny-llama:nope').catch((e) => e);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      expect(missing).toMatchObject({ status: 404, code: 'model_not_found' });
    }));
});

describe('chat', () => {
  test('a completion, with n, seed, user, stop, response_format text and logprobs: false', () =>
    withLogs(async () => {
      const out = await client.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: 8,
        temperature: 0,
        n: 2,
        seed: 5,
        user: 'sdk-test',
        stop: ['\n'],
        response_format: { type: 'text' },
        logprobs: false,
      });
      expect(out.object).toBe('chat.completion');
      expect(out.choices.map((c) => c.index)).toEqual([0, 1]);
      expect(out.choices[0].message).toMatchObject({ role: 'assistant', content: expect.any(String) });
      expect(out.choices[1].message.content).toBe(out.choices[0].message.content);
      expect(out.choices[0].message.content).not.toContain('\n');
      expect(out.usage?.completion_tokens).toBeGreaterThan(0);
      // The same request twice (byte for byte, within a second: each forward is signed with its own nonce).
      const sampled = { model: MODEL, messages, max_tokens: 8, temperature: 1, seed: 11 };
      const a = await client.chat.completions.create(sampled);
      const b = await client.chat.completions.create(sampled);
      expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
    }));

  test('logprobs with top_logprobs, streamed and not, agree', () =>
    withLogs(async () => {
      const req = { model: MODEL, messages, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 } as const;
      const out = await client.chat.completions.create(req);
      const content = out.choices[0].logprobs?.content ?? [];
      expect(content.length).toBeGreaterThan(0);
      expect(content.map((t) => t.token).join('')).toBe(out.choices[0].message.content);
      for (const t of content) {
        expect(t.logprob).toBeLessThanOrEqual(0);
        expect(t.top_logprobs).toHaveLength(2);
        expect(t.bytes).toEqual([...new TextEncoder().encode(t.token)]);
      }
      const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
      const streamed = [];
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          text += c.delta.content ?? '';
          streamed.push(...(c.logprobs?.content ?? []));
        }
      }
      expect(text).toBe(out.choices[0].message.content);
      expect(streamed).toEqual(content);
      expect(usage).toEqual(out.usage);
    }));

  test('a stream ends with the finish reason (the SDK sees [DONE])', () =>
    withLogs(async () => {
      const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 6, temperature: 0, stream: true });
      const finishes = [];
      for await (const chunk of stream) for (const c of chunk.choices) if (c.finish_reason) finishes.push(c.finish_reason);
      expect(finishes).toHaveLength(1);
      expect(['stop', 'length']).toContain(finishes[0]);
    }));
});

describe('text completions', () => {
  test('logprobs in the legacy shape, streamed and not', () =>
    withLogs(async () => {
      const req = { model: MODEL, prompt: 'reverse words: red fox\n', max_tokens: 8, temperature: 0, logprobs: 2 };
      const out = await client.completions.create(req);
      const lp = out.choices[0].logprobs;
      expect(lp?.tokens?.join('')).toBe(out.choices[0].text);
      expect(lp?.token_logprobs).toHaveLength(lp?.tokens?.length ?? -1);
      expect(lp?.text_offset?.[0]).toBe(0);
      const stream = await client.completions.create({ ...req, stream: true });
      const tokens = [];
      for await (const chunk of stream) tokens.push(...(chunk.choices[0]?.logprobs?.tokens ?? []));
      expect(tokens).toEqual(lp?.tokens);
    }));
});

describe('limits', () => {
  test('more prompt text than MAX_PROMPT_BYTES is refused by the edge, naming the field', () =>
    withLogs(async () => {
      const err = await client.completions.create({ model: MODEL, prompt: 'x'.repeat(MAX_PROMPT_BYTES + 1) }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err).toMatchObject({ status: 400, code: 'prompt_too_large', param: 'prompt' });
      expect(err.headers.get('x-rankgate-backend')).toBeNull();
    }));
});

describe('JSON output', () => {
  test('response_format json_schema: the answer parses under the schema, streamed or not; an uncompilable schema is a 400', () =>
    withLogs(async () => {
      const schema = {
        type: 'object',
        properties: { animal: { enum: ['fox', 'owl'] }, legs: { type: 'integer', minimum: 0, maximum: 8 } },
        required: ['animal', 'legs'],
        additionalProperties: false,
      };
      const request = {
        model: MODEL,
        messages,
        max_tokens: 60,
        seed: 3,
        response_format: { type: 'json_schema' as const, json_schema: { name: 'animal', schema, strict: true } },
      };
      const out = await client.chat.completions.create(request);
      expect(out.choices[0].finish_reason).toBe('stop');
      const value = JSON.parse(out.choices[0].message.content ?? '');
      expect(value).toEqual({ animal: expect.stringMatching(/^(fox|owl)$/), legs: expect.any(Number) });
      let streamed = '';
      for await (const chunk of await client.chat.completions.create({ ...request, stream: true }))
        streamed += chunk.choices[0]?.delta.content ?? '';
      expect(streamed).toBe(out.choices[0].message.content);
      const bad = { type: 'object', properties: { s: { type: 'string', pattern: '(?=x)y' } } };
      const err = await client.chat.completions
        .create({ ...request, response_format: { type: 'json_schema', json_schema: { name: 'bad', schema: bad } } })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err).toMatchObject({ status: 400, code: 'unsupported_json_schema', param: 'response_format' });
    }));
});

describe('options rankgate does not serve', () => {
  test('tools and logit_bias are refused with unsupported_parameter, naming the option', () =>
    withLogs(async () => {
      const refusals: [string, Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming>][] = [
        ['tools', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }],
        ['tool_choice', { tool_choice: 'auto' }],
        ['logit_bias', { logit_bias: { '5': 10 } }],
      ];
      for (const [param, extra] of refusals) {
        const err = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 2, ...extra }).catch((e) => e);
        expect(err, param).toBeInstanceOf(OpenAI.BadRequestError);
        expect(err).toMatchObject({ status: 400, code: 'unsupported_parameter', param });
        expect(err.message).toContain(param);
      }
    }));
});

describe('adapter mixes', () => {
  test('"adapters" beside "model": "<base>" answers through the SDK, with the first-token logprobs of the cat merge of the same adapters', () =>
    withLogs(async () => {
      const api = await fixtureTenant(stack, 'openai-sdk-mix');
      await uploadFixtureAdapter(api, 'mix-a', 'task_a');
      await uploadFixtureAdapter(api, 'mix-b', 'task_b');
      const mixClient = new OpenAI({ apiKey: api.key, baseURL: `${stack.edge.edgeUrl}/v1`, maxRetries: 0 });
      const adapters = [
        { name: 'mix-a', weight: 0.7 },
        { name: 'mix-b', weight: -0.3 },
      ];
      // The SDK sends fields it does not know as they are (its README: "Undocumented request params").
      const chat = await mixClient.chat.completions.create({
        model: 'tiny-llama',
        messages,
        max_tokens: 6,
        temperature: 0,
        // @ts-expect-error rankgate's extension field
        adapters,
      });
      expect(chat.choices[0].message.content).toEqual(expect.any(String));

      const prompt = 'upper: red fox';
      const served = await mixClient.completions.create({
        model: 'tiny-llama',
        prompt,
        max_tokens: 1,
        temperature: 0,
        logprobs: 5,
        // @ts-expect-error rankgate's extension field
        adapters,
      });
      // The local engine with the cat merge of the same adapters and weights (PEFT's add_weighted_adapter "cat").
      const folder = await readModelFolder(join(FIXTURE, 'base'));
      const decoder = await Decoder.fromFolder(folder);
      const members = await Promise.all(
        ['task_a', 'task_b'].map(async (task) => ({
          name: task,
          baseModel: 'tiny-llama',
          adapter: await readAdapterFolder(join(FIXTURE, 'adapters', task), folder.config),
        })),
      );
      const cat = (await mergeCollapsed(members, { method: 'cat', weights: adapters.map((a) => a.weight) })).adapter;
      const ids = new TextTokenizer(new Tokenizer(tokenizerJson(), tokenizerConfigJson()), tokenizerConfigJson()).encode(prompt, true);
      const logits = await forwardLogits(decoder, [ids], [cat]);
      const vocab = decoder.cfg.vocabSize;
      const expected = tokenLogprobs(logits.subarray((ids.length - 1) * vocab, ids.length * vocab), 0, 5).top.map((t) => t.logprob);
      // The legacy shape keys alternatives by token text: tokens that decode alike share one entry.
      const top = Object.values(served.choices[0].logprobs?.top_logprobs?.[0] ?? {});
      expect(top.length).toBeGreaterThanOrEqual(2);
      for (const v of top) expect(Math.min(...expected.map((e) => Math.abs(e - v)))).toBeLessThan(1e-4);
      await decoder.release();

      const both = await mixClient.chat.completions
        // @ts-expect-error rankgate's extension field
        .create({ model: 'tiny-llama:mix-a', messages, adapters })
        .catch((e) => e);
      expect(both).toBeInstanceOf(OpenAI.BadRequestError);
      expect(both).toMatchObject({ status: 400, code: 'model_and_adapters', param: 'adapters' });
    }));
});

describe('embeddings', () => {
  test("embeddings.create answers (base64 by the SDK's default, and float) with the local engine's pooled hidden states; base and adapter differ", () =>
    withLogs(async () => {
      const input = ['upper: red fox', 'hello there'];
      const viaBase64 = await client.embeddings.create({ model: MODEL, input });
      const viaFloat = await client.embeddings.create({ model: MODEL, input, encoding_format: 'float' });
      const base = await client.embeddings.create({ model: 'tiny-llama', input });
      // @ts-expect-error rankgate's extension field
      const last = await client.embeddings.create({ model: MODEL, input, pooling: 'last' });
      expect(viaBase64).toMatchObject({ object: 'list', model: MODEL, data: [{ object: 'embedding', index: 0 }, { index: 1 }] });

      const folder = await readModelFolder(join(FIXTURE, 'base'));
      const decoder = await Decoder.fromFolder(folder);
      const taskA = await readAdapterFolder(join(FIXTURE, 'adapters', 'task_a'), folder.config);
      const tok = new TextTokenizer(new Tokenizer(tokenizerJson(), tokenizerConfigJson()), tokenizerConfigJson());
      const ids = input.map((t) => tok.encode(t, true));
      const local = async (adapter: typeof taskA | null, embedding: 'mean' | 'last') =>
        (
          await generate(
            decoder,
            ids.map((prompt) => ({ prompt, adapter, maxTokens: 1, embedding })),
          )
        ).map((r) => r.embedding!);
      const maxDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => Array.from(x).reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
      const [adapterMean, baseMean, adapterLast] = [await local(taskA, 'mean'), await local(null, 'mean'), await local(taskA, 'last')];
      await decoder.release();
      for (const i of [0, 1]) {
        expect(viaBase64.data[i].embedding).toHaveLength(folder.config.hiddenSize);
        expect(maxDiff(viaBase64.data[i].embedding, adapterMean[i])).toBeLessThan(1e-5);
        expect(viaFloat.data[i].embedding).toEqual(viaBase64.data[i].embedding);
        expect(maxDiff(base.data[i].embedding, baseMean[i])).toBeLessThan(1e-5);
        expect(maxDiff(last.data[i].embedding, adapterLast[i])).toBeLessThan(1e-5);
        expect(maxDiff(base.data[i].embedding, viaBase64.data[i].embedding)).toBeGreaterThan(1e-2);
      }
      expect(viaBase64.usage).toEqual({ prompt_tokens: ids[0].length + ids[1].length, total_tokens: ids[0].length + ids[1].length });

      const shortened = await client.embeddings.create({ model: MODEL, input: 'x', dimensions: 8 }).catch((e) => e);
      expect(shortened).toBeInstanceOf(OpenAI.BadRequestError);
      expect(shortened).toMatchObject({ status: 400, code: 'unsupported_dimensions', param: 'dimensions' });
    }));
});
