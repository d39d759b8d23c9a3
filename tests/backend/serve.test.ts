/**
 * The backend's serving side in-process, over real HTTP (@hono/node-server on loopback) and a real
 * S3-compatible store (s3rver): models and adapters are fetched by storage prefix as the edge names them.
 */
import { mkdir, readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_PROMPT_BYTES } from '../../contracts/api/openai.ts';
import type { RoutedTarget } from '../../contracts/api/routed-target.ts';
import { edgeSigner, newSigningKey, type EdgeSigner } from '../../contracts/api/edge-signature.ts';
import { backendApp } from '../../gpu-backend/serve/app.ts';
import { EdgeKey } from '../../gpu-backend/serve/edge-auth.ts';
import { FolderCache, MODEL_FILES } from '../../gpu-backend/storage/folder-cache.ts';
import { ModelCache } from '../../gpu-backend/serve/models.ts';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import { ADAPTER_DIR, BASIS_MANIFEST, BASIS_TENSORS, PACKED_WEIGHTS_FILE } from '../../contracts/formats/job-artifacts.ts';
import { encodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { readAdapterFolder, readModelFolder } from '../../gpu-backend/formats/files.ts';
import { mergeCollapsed } from '../../gpu-backend/lowrank/merge-collapsed.ts';
import { adapterFiles } from '../../gpu-backend/lowrank/peft-adapter.ts';
import { buildReversibleMerge, encodeReversibleMerge } from '../../gpu-backend/lowrank/reversible.ts';
import { tokenLogprobs } from '../../gpu-backend/engine/sampling.ts';
import { FIXTURE } from './helpers.ts';

const BACKEND_ID = 'serve-test-backend';
/** The edge's signing key for these tests; the backend knows its public key. */
let signer: EdgeSigner;
const base = { id: 'base_tiny', name: 'tiny', storage_prefix: 'models/tiny/' };
const adapterRef = (task: string) => ({ id: `ad_${task}`, name: task, storage_prefix: `adapters/${task}/`, rank: 8 });
const target = (task?: string) => ({
  kind: task ? 'adapter' : 'base',
  base_model: base,
  adapter: task ? adapterRef(task) : null,
  merge: null,
});
const routing = (task?: string) => ({ tenant_id: 'tenant_1', target: target(task) });

/** The default model (models/rankgate-tiny) and one of its task adapters, as `npm start` serves them. */
const DEFAULT_MODEL = join(import.meta.dirname, '..', '..', 'models', 'rankgate-tiny');
const defaultBase = { id: 'base_rankgate_tiny', name: 'rankgate-tiny', storage_prefix: 'models/rankgate-tiny/' };
const acronym = {
  tenant_id: 'tenant_1',
  target: {
    kind: 'adapter',
    base_model: defaultBase,
    adapter: { id: 'ad_acronym', name: 'acronym', storage_prefix: 'adapters/acronym/', rank: 8 },
    merge: null,
  },
};

let s3: LocalS3;
let cacheDir: string;
let models: ModelCache;
let server: ServerType;
let url: string;
const inFlight = { count: 0 };

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'serve-test' });
  const store = new ObjectStore(s3.config);
  for (const file of await readdir(join(FIXTURE, 'base')))
    await store.put(`models/tiny/${file}`, await readFile(join(FIXTURE, 'base', file)));
  // The fixture has no tokenizer; the default model's character-level one fits inside its 320-token vocabulary.
  await store.put('models/tiny/tokenizer.json', JSON.stringify(tokenizerJson()));
  await store.put('models/tiny/tokenizer_config.json', JSON.stringify(tokenizerConfigJson()));
  for (const task of ['task_a', 'task_b']) {
    for (const file of await readdir(join(FIXTURE, 'adapters', task)))
      await store.put(`adapters/${task}/${file}`, await readFile(join(FIXTURE, 'adapters', task, file)));
    // What an upload leaves beside a committed adapter; not part of the adapter's folder.
    await store.put(`adapters/${task}/upload/adapter_config.json`, '{}');
  }
  for (const file of await readdir(join(DEFAULT_MODEL, 'base')))
    await store.put(`models/rankgate-tiny/${file}`, await readFile(join(DEFAULT_MODEL, 'base', file)));
  for (const file of await readdir(join(DEFAULT_MODEL, 'adapters', 'acronym')))
    await store.put(`adapters/acronym/${file}`, await readFile(join(DEFAULT_MODEL, 'adapters', 'acronym', file)));
  cacheDir = await mkdtemp(join(tmpdir(), 'rankgate-serve-cache-'));
  models = new ModelCache(new FolderCache(store, cacheDir));
  const { signingKey, publicKey } = await newSigningKey();
  signer = await edgeSigner(signingKey);
  const app = backendApp({ edgeAuth: { backendId: BACKEND_ID, edgeKey: new EdgeKey(publicKey) }, models, inFlight });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await s3?.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

/** How a request is signed: by the edge for this backend (default), for another backend, or not at all. */
type Signing = 'edge' | 'other-backend' | 'unsigned';

async function post(path: string, body: unknown, signing: Signing = 'edge'): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signing !== 'unsigned') {
    const backendId = signing === 'edge' ? BACKEND_ID : 'another-backend';
    Object.assign(headers, await signer.sign({ backendId, method: 'POST', path, body: text }));
  }
  return fetch(`${url}${path}`, { method: 'POST', headers, body: text });
}

async function get(path: string, signing: Signing = 'edge'): Promise<Response> {
  const headers = signing === 'edge' ? await signer.sign({ backendId: BACKEND_ID, method: 'GET', path, body: '' }) : {};
  return fetch(`${url}${path}`, { headers });
}

async function json(path: string, body: unknown, status = 200): Promise<any> {
  const res = await post(path, body);
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  return JSON.parse(text);
}

const text = (body: Record<string, unknown>, task?: string) =>
  json('/v1/completions', { model: 'tiny', temperature: 0, ...body, rankgate: routing(task) });

/** The `data:` payloads of an SSE body, checking the framing on the way. */
async function events(res: Response): Promise<string[]> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const raw = await res.text();
  const blocks = raw.split('\n\n').filter((b) => b.length > 0);
  for (const b of blocks) expect(b).toMatch(/^data: /);
  return blocks.map((b) => b.slice('data: '.length));
}

async function expectError(path: string, body: unknown, status: number, code: string, signing: Signing = 'edge') {
  const res = await post(path, body, signing);
  expect(res.status).toBe(status);
  const { error } = (await res.json()) as any;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(error.code).toBe(code);
  // The error body the edge writes too (contracts/api/error-body.ts): OpenAI's type for each status.
  expect(error.type).toBe(
    { 400: 'invalid_request_error', 401: 'authentication_error', 404: 'not_found_error', 422: 'invalid_request_error' }[status],
  );
  expect(error.message.length).toBeGreaterThan(20);
  return error;
}

describe('the folder cache', () => {
  test('fetches the files directly under a prefix, and again when an object is replaced by one of the same size', async () => {
    const store = new ObjectStore(s3.config);
    const folders = new FolderCache(store, cacheDir);
    await store.put('cache-test/a.json', '{"v":1}');
    await store.put('cache-test/sub/b.json', '{}');
    const dir = await folders.fetch('cache-test/', MODEL_FILES);
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('{"v":1}');
    expect(await readdir(dir)).not.toContain('sub');
    await store.put('cache-test/a.json', '{"v":2}');
    expect(await readFile(join(await folders.fetch('cache-test/', MODEL_FILES), 'a.json'), 'utf8')).toBe('{"v":2}');
  });
});

describe('completions', () => {
  test("a text completion answers in OpenAI's shape, loading the model from storage", async () => {
    const out = await text({ prompt: 'hello', max_tokens: 8 });
    expect(out).toMatchObject({
      object: 'text_completion',
      model: 'tiny',
      choices: [{ index: 0, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 },
    });
    expect(out.id).toMatch(/^cmpl-/);
    expect(typeof out.choices[0].text).toBe('string');
  });

  test('a chat completion renders the chat template and answers as the assistant', async () => {
    const out = await json('/v1/chat/completions', {
      model: 'tiny:task_a',
      messages: [{ role: 'user', content: 'hi there' }],
      max_tokens: 6,
      temperature: 0,
      rankgate: routing('task_a'),
    });
    expect(out).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant' } }] });
    expect(out.id).toMatch(/^chatcmpl-/);
    // <|user|>hi there</s><|assistant|>
    expect(out.usage.prompt_tokens).toBe(1 + 8 + 1 + 1);
  });

  test('an adapter changes the output of the base model', async () => {
    const plain = await text({ prompt: 'hello', max_tokens: 16 });
    const a = await text({ prompt: 'hello', max_tokens: 16 }, 'task_a');
    const b = await text({ prompt: 'hello', max_tokens: 16 }, 'task_b');
    expect(new Set([plain.choices[0].text, a.choices[0].text, b.choices[0].text]).size).toBe(3);
    expect(models.loadedAdapters).toEqual(expect.arrayContaining(['ad_task_a', 'ad_task_b']));
  });

  test('echo puts the prompt before the completion', async () => {
    const plain = await text({ prompt: 'hello', max_tokens: 4 });
    const echoed = await text({ prompt: 'hello', max_tokens: 4, echo: true });
    expect(echoed.choices[0].text).toBe('hello' + plain.choices[0].text);
  });

  test('a stop string ends the choice and is cut from its text', async () => {
    const full = (await text({ prompt: 'upper: red fox\n', max_tokens: 16 }, 'task_a')).choices[0].text as string;
    expect(full.length).toBeGreaterThan(3);
    const stop = full.slice(2, 4);
    const cut = await text({ prompt: 'upper: red fox\n', max_tokens: 16, stop: [stop, 'never-there'] }, 'task_a');
    expect(cut.choices[0]).toMatchObject({ text: full.slice(0, full.indexOf(stop)), finish_reason: 'stop' });
  });

  test('n > 1 gives n choices per prompt, prompt by prompt', async () => {
    const out = await text({ prompt: ['hello', '2+2='], n: 2, max_tokens: 4, temperature: 1, seed: 7 });
    expect(out.choices.map((c: any) => c.index)).toEqual([0, 1, 2, 3]);
    const greedy = await text({ prompt: ['hello', '2+2='], n: 2, max_tokens: 4 });
    expect(greedy.choices[0].text).toBe(greedy.choices[1].text);
    expect(greedy.choices[2].text).toBe(greedy.choices[3].text);
    expect(greedy.usage.completion_tokens).toBe(16);
    const again = await text({ prompt: ['hello', '2+2='], n: 2, max_tokens: 4, temperature: 1, seed: 7 });
    expect(again.choices).toEqual(out.choices);
  });

  test('concurrent requests for different adapters run in one batch, each as it would alone', async () => {
    const tasks = [undefined, 'task_a', 'task_b'];
    const alone = [];
    for (const t of tasks) alone.push((await text({ prompt: '2+2=', max_tokens: 24 }, t)).choices[0].text);
    const loaded = await models.base(base);
    const rowsPerStep: number[] = [];
    const step = loaded.decoder.step.bind(loaded.decoder);
    // Observes the engine's steps (and calls through) to see how many rows each one carried.
    loaded.decoder.step = (inp) => {
      rowsPerStep.push(inp.rows);
      return step(inp);
    };
    try {
      const together = await Promise.all(tasks.map((t) => text({ prompt: '2+2=', max_tokens: 24 }, t)));
      expect(together.map((o) => o.choices[0].text)).toEqual(alone);
    } finally {
      loaded.decoder.step = step;
    }
    expect(Math.max(...rowsPerStep)).toBe(3);
    expect(inFlight.count).toBe(0);
  });
});

describe('a first token that ends the sequence', () => {
  // The default model's acronym adapter answers this prompt with end-of-sequence at once: an empty completion.
  const body = {
    model: 'rankgate-tiny:acronym',
    messages: [{ role: 'user', content: 'acronym: wind gold milk rain' }],
    max_tokens: 8,
    temperature: 0,
    rankgate: acronym,
  };

  test('answers an empty completion that stopped', async () => {
    const out = await json('/v1/chat/completions', body);
    expect(out.choices[0]).toMatchObject({ message: { role: 'assistant', content: '' }, finish_reason: 'stop' });
    expect(out.usage.completion_tokens).toBe(1);
  });

  test('streams the role, the stop and [DONE]', async () => {
    const data = await events(await post('/v1/chat/completions', { ...body, stream: true }));
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
  });
});

describe('JSON output (response_format)', () => {
  const schema = {
    type: 'object',
    properties: { color: { enum: ['red', 'green'] }, n: { type: 'integer', minimum: 0, maximum: 9 } },
    required: ['color', 'n'],
  };
  const body = (extra: Record<string, unknown>) => ({
    model: 'tiny:task_a',
    messages: [{ role: 'user', content: 'a color and a number' }],
    max_tokens: 60,
    n: 2,
    seed: 5,
    response_format: { type: 'json_schema', json_schema: { name: 'pick', schema } },
    rankgate: routing('task_a'),
    ...extra,
  });

  test('json_schema: each choice is JSON under the schema, streamed or not', async () => {
    const whole = await json('/v1/chat/completions', body({}));
    for (const c of whole.choices) {
      expect(c.finish_reason).toBe('stop');
      expect(JSON.parse(c.message.content)).toMatchObject({ color: expect.stringMatching(/^(red|green)$/), n: expect.any(Number) });
    }
    const data = await events(await post('/v1/chat/completions', body({ stream: true })));
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const texts = [0, 1].map((i) =>
      chunks
        .filter((c) => c.choices[0]?.index === i)
        .map((c) => c.choices[0].delta.content ?? '')
        .join(''),
    );
    expect(texts).toEqual(whole.choices.map((c: any) => c.message.content));
  });

  test('json_object: a JSON object', async () => {
    const res = await json('/v1/chat/completions', body({ response_format: { type: 'json_object' }, n: 1, max_tokens: 100 }));
    const content = res.choices[0].message.content as string;
    if (res.choices[0].finish_reason === 'stop') expect(JSON.parse(content)).toBeTypeOf('object');
    else expect(content.startsWith('{')).toBe(true);
  });

  test('a schema the grammar engine cannot compile is a 400 saying what it could not compile', async () => {
    const bad = { type: 'object', properties: { s: { type: 'string', pattern: '(?=x)y' } } };
    const error = await expectError(
      '/v1/chat/completions',
      body({ response_format: { type: 'json_schema', json_schema: { name: 'bad', schema: bad } } }),
      400,
      'unsupported_json_schema',
    );
    expect(error.param).toBe('response_format');
    expect(error.message).toMatch(/Lookahead is not supported/);
    await expectError('/v1/chat/completions', body({ response_format: { type: 'json_schema' } }), 400, 'invalid_field');
  });
});

describe('streaming', () => {
  test('text chunks add up to the whole completion and end with [DONE]', async () => {
    const whole = await text({ prompt: 'hello', max_tokens: 12 }, 'task_b');
    const res = await post('/v1/completions', {
      model: 'tiny:task_b',
      prompt: 'hello',
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      rankgate: routing('task_b'),
    });
    const data = await events(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const usage = chunks.at(-1);
    expect(usage).toMatchObject({ object: 'text_completion', choices: [], usage: whole.usage });
    const parts = chunks.slice(0, -1);
    for (const p of parts) expect(p).toMatchObject({ object: 'text_completion', model: 'tiny:task_b', id: parts[0].id });
    expect(parts.map((p) => p.choices[0].text).join('')).toBe(whole.choices[0].text);
    expect(parts.at(-1).choices[0].finish_reason).toBe('length');
    expect(parts.slice(0, -1).every((p) => p.choices[0].finish_reason === null)).toBe(true);
  });

  test('chat chunks open with the assistant role; a stop string never shows in the stream', async () => {
    const body = { model: 'tiny:task_a', messages: [{ role: 'user', content: 'upper: red fox' }], max_tokens: 16, temperature: 0 };
    const full = (await json('/v1/chat/completions', { ...body, rankgate: routing('task_a') })).choices[0].message.content as string;
    expect(full.length).toBeGreaterThan(3);
    const stop = full.slice(2, 4);
    const data = await events(await post('/v1/chat/completions', { ...body, stop, stream: true, rankgate: routing('task_a') }));
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant' } }] });
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(full.slice(0, full.indexOf(stop)));
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
  });

  test('n > 1 streams every choice under its own index', async () => {
    const data = await events(
      await post('/v1/completions', {
        model: 'tiny',
        prompt: 'hello',
        n: 3,
        max_tokens: 5,
        temperature: 0,
        stream: true,
        rankgate: routing(),
      }),
    );
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const byIndex = [0, 1, 2].map((i) => chunks.filter((c) => c.choices[0].index === i));
    for (const own of byIndex) expect(own.at(-1).choices[0].finish_reason).toBe('length');
    const texts = byIndex.map((own) => own.map((c) => c.choices[0].text).join(''));
    expect(new Set(texts).size).toBe(1);
  });
});

describe('logprobs', () => {
  // The default model, whose tokenizer covers its whole vocabulary (tiny-llama's 320 ids outnumber it).
  const chatBody = {
    model: 'rankgate-tiny',
    messages: [{ role: 'user', content: 'upper: red fox' }],
    max_tokens: 12,
    temperature: 0,
    logprobs: true,
    top_logprobs: 3,
    rankgate: { tenant_id: 'tenant_1', target: { kind: 'base', base_model: defaultBase, adapter: null, merge: null } },
  };

  test("chat: one entry per token of the content, the model's log-softmax, with the likeliest alternatives", async () => {
    const out = await json('/v1/chat/completions', chatBody);
    const { content } = out.choices[0].logprobs;
    expect(content.length).toBeGreaterThan(1);
    expect(content.map((e: any) => e.token).join('')).toBe(out.choices[0].message.content);
    expect(content.length).toBe(out.usage.completion_tokens - (out.choices[0].finish_reason === 'stop' ? 1 : 0));
    for (const e of content) {
      expect(e.bytes).toEqual([...new TextEncoder().encode(e.token)]);
      expect(e.top_logprobs).toHaveLength(3);
      const top = e.top_logprobs.map((t: any) => t.logprob);
      expect(top).toEqual([...top].sort((a, b) => b - a));
      expect(top.reduce((sum: number, lp: number) => sum + Math.exp(lp), 0)).toBeLessThanOrEqual(1 + 1e-6);
      // Greedy decoding picks the likeliest token.
      expect(e.top_logprobs[0]).toMatchObject({ token: e.token, logprob: e.logprob });
      expect(e.logprob).toBeLessThanOrEqual(0);
    }
    const plain = await json('/v1/chat/completions', { ...chatBody, logprobs: false, top_logprobs: undefined });
    expect(plain.choices[0]).toMatchObject({ message: out.choices[0].message, logprobs: null });
  });

  test('chat, streamed: the chunks carry the same logprobs, each token once', async () => {
    const whole = await json('/v1/chat/completions', chatBody);
    const data = await events(await post('/v1/chat/completions', { ...chatBody, stream: true }));
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.flatMap((c) => c.choices[0].logprobs.content)).toEqual(whole.choices[0].logprobs.content);
  });

  test('text: tokens, token_logprobs, top_logprobs and text offsets, streamed or not; a stop string cuts them with the text', async () => {
    const body = {
      model: 'rankgate-tiny:acronym',
      prompt: 'acronym: red fox jumps high\n',
      max_tokens: 12,
      temperature: 0,
      logprobs: 2,
      rankgate: acronym,
    };
    const out = await json('/v1/completions', body);
    const { text } = out.choices[0];
    expect(text.length).toBeGreaterThan(2);
    const lp = out.choices[0].logprobs;
    expect(lp.tokens.join('')).toBe(text);
    expect(lp.token_logprobs).toHaveLength(lp.tokens.length);
    expect(lp.text_offset).toEqual(lp.tokens.map((_: string, k: number) => lp.tokens.slice(0, k).join('').length));
    for (const [k, top] of lp.top_logprobs.entries()) {
      expect(Object.keys(top).length).toBeLessThanOrEqual(2);
      expect(Math.max(...(Object.values(top) as number[]))).toBe(lp.token_logprobs[k]);
    }
    const data = await events(await post('/v1/completions', { ...body, stream: true }));
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d).choices[0].logprobs);
    expect(chunks.flatMap((c) => c.tokens)).toEqual(lp.tokens);
    expect(chunks.flatMap((c) => c.text_offset)).toEqual(lp.text_offset);

    // A character first seen after the start, as the stop string: text and tokens end before it.
    const at = [...text].findIndex((ch, k) => k > 0 && text.indexOf(ch) === k);
    expect(at).toBeGreaterThan(0);
    const cut = await json('/v1/completions', { ...body, stop: text[at] });
    expect(cut.choices[0].text).toBe(text.slice(0, at));
    expect(cut.choices[0].logprobs.tokens.join('')).toBe(text.slice(0, at));
  });

  test('top_logprobs without logprobs, and logprobs with echo, are refused', async () => {
    await expectError('/v1/chat/completions', { ...chatBody, logprobs: false }, 400, 'invalid_field');
    await expectError(
      '/v1/completions',
      { model: 'tiny', prompt: 'x', logprobs: 1, echo: true, rankgate: routing() },
      400,
      'unsupported_parameter',
    );
  });
});

describe('OpenAI options', () => {
  const chat = (extra: Record<string, unknown>) => ({
    model: 'tiny',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 2,
    rankgate: routing(),
    ...extra,
  });

  test('response_format text, logprobs false and null options are accepted', async () => {
    const out = await json(
      '/v1/chat/completions',
      chat({ response_format: { type: 'text' }, logprobs: false, tools: null, user: 'u-1', seed: 3, store: false, safety_identifier: 's' }),
    );
    expect(out.object).toBe('chat.completion');
    const streamed = await events(
      await post('/v1/chat/completions', chat({ stream: true, stream_options: { include_obfuscation: false } })),
    );
    expect(streamed.at(-1)).toBe('[DONE]');
  });

  test('options rankgate does not serve are refused as unsupported_parameter, by name', async () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: {} } }];
    for (const [field, value] of Object.entries({
      tools,
      tool_choice: 'auto',
      functions: [{ name: 'f' }],
      logit_bias: { '5': 10 },
      parallel_tool_calls: true,
      modalities: ['text', 'audio'],
      metadata: { k: 'v' },
      service_tier: 'auto',
      store: true,
    })) {
      const error = await expectError('/v1/chat/completions', chat({ [field]: value }), 400, 'unsupported_parameter');
      expect(error.param).toBe(field);
      expect(error.message).toMatch(new RegExp(`^"${field}"(: true)? is not supported`));
    }
    const suffix = await expectError(
      '/v1/completions',
      { model: 'tiny', prompt: 'x', suffix: '!', rankgate: routing() },
      400,
      'unsupported_parameter',
    );
    expect(suffix.param).toBe('suffix');
  });
});

describe('failures', () => {
  test("an engine failure mid-stream ends the stream with OpenAI's error chunk, generic, never the exception's text", async () => {
    const loaded = await models.base(base);
    const step = loaded.decoder.step.bind(loaded.decoder);
    let calls = 0;
    // Fault injection: the prefill runs, the first decode step fails as a broken runtime would.
    loaded.decoder.step = (inp) => {
      if (++calls > 1) throw new Error('onnxruntime: internal detail /srv/secret/path');
      return step(inp);
    };
    let raw: string;
    try {
      const res = await post('/v1/completions', { model: 'tiny', prompt: 'hello', max_tokens: 8, stream: true, rankgate: routing() });
      expect(res.status).toBe(200);
      raw = await res.text();
    } finally {
      loaded.decoder.step = step;
    }
    expect(raw).not.toContain('internal detail');
    expect(raw).not.toMatch(/^event:/m);
    const data = raw
      .split('\n\n')
      .filter(Boolean)
      .map((b) => b.slice('data: '.length));
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1)!).error).toMatchObject({ code: 'backend_error', type: 'server_error' });
  });
});

describe('health', () => {
  test('/healthz says only ok; what is loaded is behind the secret', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    expect((await get('/internal/v1/status', 'unsigned')).status).toBe(401);
    const status = await get('/internal/v1/status');
    expect(await status.json()).toMatchObject({ ok: true, in_flight: 0, loaded_adapters: expect.any(Number) });
  });
});

describe('refusals', () => {
  test('requests not signed by the edge for this backend get 401', async () => {
    const body = { model: 'tiny', prompt: 'x', rankgate: routing() };
    await expectError('/v1/completions', body, 401, 'unauthorized', 'unsigned');
    await expectError('/v1/completions', body, 401, 'unauthorized', 'other-backend');
    // Signed, then changed on the way: the body's digest no longer matches.
    const headers = await signer.sign({ backendId: BACKEND_ID, method: 'POST', path: '/v1/completions', body: JSON.stringify(body) });
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, prompt: 'y' }),
    });
    expect(res.status).toBe(401);
    await expectError('/internal/v1/tasks/fine_tuning/ftjob_x/cancel', {}, 401, 'unauthorized', 'unsigned');
  });

  test("bad input answers 400 in OpenAI's error shape, naming what to change", async () => {
    expect(
      (await expectError('/v1/completions', { model: 'tiny', prompt: 'x', temprature: 1, rankgate: routing() }, 400, 'unknown_field'))
        .message,
    ).toContain('temprature');
    expect(
      (await expectError('/v1/completions', { model: 'tiny', prompt: 'x', max_tokens: 0, rankgate: routing() }, 400, 'invalid_field'))
        .param,
    ).toBe('max_tokens');
    expect(
      (
        await expectError(
          '/v1/completions',
          { model: 'tiny', prompt: 'x'.repeat(120), max_tokens: 20, rankgate: routing() },
          400,
          'context_too_long',
        )
      ).message,
    ).toContain('128 tokens');
    await expectError('/v1/completions', { model: 'tiny', prompt: '', rankgate: routing() }, 400, 'empty_prompt');
    await expectError(
      '/v1/completions',
      { model: 'tiny', prompt: 'x', presence_penalty: 1, rankgate: routing() },
      400,
      'unsupported_parameter',
    );
    await expectError('/v1/chat/completions', { model: 'tiny', messages: [], rankgate: routing() }, 400, 'invalid_field');
    await expectError('/v1/completions', { model: 'tiny', prompt: 'x' }, 400, 'bad_routing');
    await expectError('/v1/completions', 'not json', 400, 'bad_routing');
  });

  test('a prompt too long in bytes to fit the context is refused before tokenizing; past MAX_PROMPT_BYTES, by the schema', async () => {
    // The default tokenizer's longest token is 13 bytes and tiny-llama's context 128 tokens.
    const over = await expectError(
      '/v1/completions',
      { model: 'tiny', prompt: 'x'.repeat(127 * 13 + 1), rankgate: routing() },
      400,
      'context_too_long',
    );
    expect(over).toMatchObject({ param: 'prompt' });
    expect(over.message).toContain('1652 bytes');
    const chat = await expectError(
      '/v1/chat/completions',
      { model: 'tiny', messages: [{ role: 'user', content: 'x'.repeat(5000) }], rankgate: routing() },
      400,
      'context_too_long',
    );
    expect(chat.param).toBe('messages');
    const huge = await expectError(
      '/v1/completions',
      { model: 'tiny', prompt: ['ok', 'z'.repeat(MAX_PROMPT_BYTES)], rankgate: routing() },
      400,
      'prompt_too_large',
    );
    expect(huge.param).toBe('prompt');
  });

  test('a streamed request that cannot run is refused before the stream starts', async () => {
    await expectError(
      '/v1/completions',
      { model: 'tiny', prompt: ['ok', 'y'.repeat(200)], stream: true, rankgate: routing() },
      400,
      'context_too_long',
    );
  });

  test('an adapter missing from storage, merges and unknown jobs are 4xx', async () => {
    const missing = {
      tenant_id: 't',
      target: { ...target('task_a'), adapter: { ...adapterRef('gone'), storage_prefix: 'adapters/gone/' } },
    };
    await expectError('/v1/completions', { model: 'tiny:gone', prompt: 'x', rankgate: missing }, 400, 'model_files_missing');
    const gone = {
      tenant_id: 't',
      target: { ...target(), kind: 'merge', merge: { id: 'mrg_gone', name: 'm', method: 'rmm_factor', storage_prefix: 'merges/gone/' } },
    };
    await expectError('/v1/completions', { model: 'tiny:m', prompt: 'x', rankgate: gone }, 400, 'model_files_missing');
    await expectError('/internal/v1/tasks/fine_tuning/ftjob_x/cancel', {}, 404, 'task_not_running');
  });
});

describe('under load', () => {
  // One row and one queue place, and every decode step slowed down, so a test can hold the row busy.
  let busyUrl: string;
  let busyServer: ServerType;
  let busyModels: ModelCache;
  const busyInFlight = { count: 0 };

  beforeAll(async () => {
    busyModels = new ModelCache(new FolderCache(new ObjectStore(s3.config), cacheDir), { scheduler: { maxBatch: 1, maxQueued: 1 } });
    const loaded = await busyModels.base(base, 'tenant_1');
    const step = loaded.decoder.step.bind(loaded.decoder);
    loaded.decoder.step = async (inp) => {
      await new Promise((r) => setTimeout(r, 20));
      return step(inp);
    };
    const app = backendApp({
      edgeAuth: { backendId: BACKEND_ID, edgeKey: new EdgeKey((await signer).publicKey) },
      models: busyModels,
      inFlight: busyInFlight,
    });
    busyServer = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => busyServer.once('listening', r));
    busyUrl = `http://127.0.0.1:${(busyServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    (busyServer as import('node:http').Server | undefined)?.closeAllConnections();
    await new Promise((r) => busyServer?.close(r));
  });

  const stream = async (signal?: AbortSignal) => {
    const path = '/v1/completions';
    const body = JSON.stringify({ model: 'tiny', prompt: 'hello', max_tokens: 100, temperature: 0, stream: true, rankgate: routing() });
    const headers = { 'content-type': 'application/json', ...(await signer.sign({ backendId: BACKEND_ID, method: 'POST', path, body })) };
    return fetch(`${busyUrl}${path}`, { method: 'POST', headers, body, signal });
  };
  const until = async (what: () => boolean) => {
    while (!what()) await new Promise((r) => setTimeout(r, 5));
  };

  test('beyond the queue a stream is refused with 429 and Retry-After, before it starts; a client that leaves is dropped at once', async () => {
    const scheduler = (await busyModels.base(base, 'tenant_1')).scheduler;
    const running = new AbortController();
    const waiting = new AbortController();
    const first = await stream(running.signal);
    expect(first.status).toBe(200);
    await until(() => scheduler.batchSize === 1);
    const second = await stream(waiting.signal);
    expect(second.status).toBe(200);
    expect(scheduler.queued).toBe(1);

    const refused = await stream();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('queue_full');

    // The waiting client hangs up: it leaves the queue while the first still runs.
    waiting.abort();
    await until(() => scheduler.queued === 0);
    expect(scheduler.batchSize).toBe(1);
    // The running one hangs up: its row is freed at the next step, long before its 100 tokens.
    running.abort();
    await until(() => scheduler.load === 0 && busyInFlight.count === 0);
  });
});

describe('merges', () => {
  // Published as a merge job publishes them (contracts/formats/job-artifacts.ts), tasks named by adapter id.
  const mergeRef = (id: string, method: string) => ({ id, name: id, method, storage_prefix: `merges/${id}/` });
  const mergeTarget = (merge: ReturnType<typeof mergeRef>, task?: string) => ({
    tenant_id: 'tenant_1',
    target: { kind: task ? 'merge_task' : 'merge', base_model: base, adapter: task ? adapterRef(task) : null, merge },
  });
  const greedy = async (rankgate: unknown) =>
    (await json('/v1/completions', { model: 'tiny', prompt: 'hello there', max_tokens: 12, temperature: 0, rankgate })).choices[0]
      .text as string;

  beforeAll(async () => {
    const store = new ObjectStore(s3.config);
    const cfg = (await readModelFolder(join(FIXTURE, 'base'))).config;
    const members = await Promise.all(
      ['task_a', 'task_b'].map(async (task) => ({
        name: adapterRef(task).id,
        baseModel: 'tiny',
        adapter: await readAdapterFolder(join(FIXTURE, 'adapters', task), cfg),
      })),
    );
    for (const [id, construction] of [
      ['rev', 'factor'],
      ['rev-shared', 'shared'],
    ] as const) {
      const { manifest, tensors } = encodeReversibleMerge(await buildReversibleMerge(members, { construction, basisSize: 2 }));
      await store.put(`merges/${id}/${BASIS_MANIFEST}`, JSON.stringify(manifest));
      await store.put(`merges/${id}/${BASIS_TENSORS}`, encodeSafetensors(tensors));
    }
    const cat = adapterFiles((await mergeCollapsed(members, { method: 'cat' })).adapter);
    await store.put(`merges/cat/${ADAPTER_DIR}adapter_config.json`, cat.config);
    await store.put(`merges/cat/${ADAPTER_DIR}adapter_model.safetensors`, cat.weights);
  });

  test('a member task of a reversible merge at p = n is served as that task, rebuilt on demand', async () => {
    for (const rev of [mergeRef('rev', 'rmm_factor'), mergeRef('rev-shared', 'rmm_shared')])
      for (const task of ['task_a', 'task_b']) expect(await greedy(mergeTarget(rev, task))).toBe(await greedy(routing(task)));
  });

  test("a reversible merge's mean model, and a collapsed merge's adapter, are served under the merge's name", async () => {
    const mean = await greedy(mergeTarget(mergeRef('rev', 'rmm_factor')));
    expect(typeof mean).toBe('string');
    const viaMerge = await greedy(mergeTarget(mergeRef('cat', 'cat')));
    const asAdapter = await greedy({
      tenant_id: 'tenant_1',
      target: { ...target('task_a'), adapter: { id: 'cat_as_adapter', name: 'c', storage_prefix: `merges/cat/${ADAPTER_DIR}`, rank: 16 } },
    });
    expect(viaMerge).toBe(asAdapter);
  });

  test('merge tasks, plain adapters and the base mix in one running batch', async () => {
    const rev = mergeRef('rev', 'rmm_factor');
    const alone = await Promise.all([greedy(mergeTarget(rev, 'task_a')), greedy(routing('task_b')), greedy(routing())]);
    const mixed = await Promise.all([greedy(mergeTarget(rev, 'task_a')), greedy(routing('task_b')), greedy(routing())]);
    expect(mixed).toEqual(alone);
  });

  test('tasks of an rmm_shared merge run through its shared basis, mixed in one batch with plain adapters and the base', async () => {
    const loaded = await models.base(base);
    const routed = (t: { kind: RoutedTarget['kind']; task?: string; merge?: ReturnType<typeof mergeRef> }): RoutedTarget => ({
      kind: t.kind,
      base_model: base,
      adapter: t.task ? adapterRef(t.task) : null,
      merge: t.merge ?? null,
      weight_bits: null,
      quantized_weights: null,
    });
    const sharedMerge = mergeRef('rev-shared', 'rmm_shared');
    const generation = (fields: Awaited<ReturnType<ModelCache['targetRequest']>>) =>
      loaded.scheduler.submit({ prompt: [1, 17, 42, 5, 99, 7], maxTokens: 10, temperature: 0, ...fields }).then((r) => r.tokens);
    const fieldsA = await models.targetRequest(loaded, routed({ kind: 'merge_task', task: 'task_a', merge: sharedMerge }));
    const fieldsB = await models.targetRequest(loaded, routed({ kind: 'merge_task', task: 'task_b', merge: sharedMerge }));
    expect(fieldsA).toMatchObject({ adapter: null, shared: { task: 0 } });
    expect(fieldsB.shared?.basis).toBe(fieldsA.shared?.basis);
    const plain = async (task?: string) => models.targetRequest(loaded, routed({ kind: task ? 'adapter' : 'base', task }));
    // At p = n each task is exact: the same greedy tokens as its own adapter, with the plain adapters beside it.
    const [a, b, plainB, plainA, none] = await Promise.all([
      generation(fieldsA),
      generation(fieldsB),
      generation(await plain('task_b')),
      generation(await plain('task_a')),
      generation(await plain()),
    ]);
    expect([a, b]).toEqual([plainA, plainB]);
    expect(none).not.toEqual(a);
    // Other reversible merges keep the rebuilt adapter.
    const factor = await models.targetRequest(loaded, routed({ kind: 'merge_task', task: 'task_a', merge: mergeRef('rev', 'rmm_factor') }));
    expect(factor.shared).toBeUndefined();
    expect(factor.adapter).not.toBeNull();
  });

  test('a task of a collapsed merge is refused', async () => {
    await expectError(
      '/v1/completions',
      { model: 'tiny:cat/task_a', prompt: 'x', rankgate: mergeTarget(mergeRef('cat', 'cat'), 'task_a') },
      400,
      'merge_not_reversible',
    );
  });
});

describe('quantized bases', () => {
  test('<base>@int8 and @int4 are models of their own, with adapters on top', async () => {
    const ask = (bits: 8 | 4 | null) =>
      json('/v1/completions', {
        model: 'tiny:task_a',
        prompt: 'hello there',
        max_tokens: 8,
        temperature: 0,
        rankgate: { tenant_id: 'tenant_1', target: { ...target('task_a'), weight_bits: bits } },
      });
    // The fixture's random weights leave near ties, so greedy text may differ; drift is tested in engine-quantized.test.ts.
    for (const bits of [null, 8, 4] as const) expect((await ask(bits)).usage.completion_tokens).toBe(8);
    expect(models.loadedBases).toEqual(expect.arrayContaining(['base_tiny', 'base_tiny@int8', 'base_tiny@int4']));
  });

  test("<base>@int4 routed to a quantization job's stored weights loads them, and a corrupt file is a clear error", async () => {
    const { writePackedWeights } = await import('../../gpu-backend/engine/packed-weights.ts');
    const { openModelFolder } = await import('../../gpu-backend/formats/files.ts');
    const folder = await openModelFolder(join(FIXTURE, 'base'));
    const dir = await mkdtemp(join(tmpdir(), 'rankgate-packed-'));
    const store = new ObjectStore(s3.config);
    await writePackedWeights(folder.config, folder.weights, { bits: 4 }, join(dir, PACKED_WEIGHTS_FILE));
    await store.put(`quantizations/q4/${PACKED_WEIGHTS_FILE}`, await readFile(join(dir, PACKED_WEIGHTS_FILE)));
    await store.put(`quantizations/bad/${PACKED_WEIGHTS_FILE}`, new Uint8Array(64));
    await rm(dir, { recursive: true });
    const ask = (id: string) =>
      post('/v1/completions', {
        model: 'tiny@int4:task_a',
        prompt: 'hello there',
        max_tokens: 4,
        temperature: 0,
        rankgate: {
          tenant_id: 'tenant_1',
          target: { ...target('task_a'), weight_bits: 4, quantized_weights: { id, storage_prefix: `quantizations/${id}/` } },
        },
      });
    const ok = await ask('q4');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).usage.completion_tokens).toBe(4);
    expect(models.loadedBases).toContain('base_tiny@int4/q4');
    const bad = await ask('bad');
    expect(bad.status).toBe(400);
    const err = ((await bad.json()) as any).error;
    expect(err.code).toBe('quantized_weights_corrupt');
    expect(err.message).toContain('run the quantization job again');
  });

  test('<base>@int4 from stored packed weights fetches of an uncached sharded checkpoint only what is not quantized', async () => {
    const { writePackedWeights, openPackedWeights } = await import('../../gpu-backend/engine/packed-weights.ts');
    const { openModelFolder } = await import('../../gpu-backend/formats/files.ts');
    const { writeCheckpoint } = await import('../../gpu-backend/formats/write-checkpoint.ts');
    const { openCheckpoint } = await import('../../gpu-backend/formats/checkpoint.ts');
    const { isQuantizedWeight } = await import('../../gpu-backend/engine/quantized-weights.ts');
    const { forwardLogits, maxAbsDiff } = await import('../../gpu-backend/cli/parity.ts');
    const { Decoder } = await import('../../gpu-backend/engine/decoder.ts');
    const folder = await readModelFolder(join(FIXTURE, 'base'));
    const dir = await mkdtemp(join(tmpdir(), 'rankgate-parts-'));
    const store = new ObjectStore(s3.config);
    const plans = [...folder.weights].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
    await mkdir(join(dir, 'ckpt'));
    await writeCheckpoint(join(dir, 'ckpt'), plans, (t) => folder.weights.get(t.name)!.data, { shards: 2 });
    for (const file of [...(await readdir(join(dir, 'ckpt'))), 'config.json'])
      await store.put(
        `models/tiny-sharded/${file}`,
        await readFile(join(file === 'config.json' ? join(FIXTURE, 'base') : join(dir, 'ckpt'), file)),
      );
    await store.put('models/tiny-sharded/tokenizer.json', JSON.stringify(tokenizerJson()));
    const packedPath = join(dir, PACKED_WEIGHTS_FILE);
    await writePackedWeights(folder.config, (await openModelFolder(join(FIXTURE, 'base'))).weights, { bits: 4 }, packedPath);
    await store.put(`quantizations/q4-parts/${PACKED_WEIGHTS_FILE}`, await readFile(packedPath));

    const fresh = new ModelCache(new FolderCache(store, join(dir, 'cache')));
    const ref = { id: 'base_tiny_sharded', name: 'tiny-sharded', storage_prefix: 'models/tiny-sharded/' };
    const loaded = await fresh.base(ref, 'tenant_1', 4, { id: 'q4-parts', storage_prefix: 'quantizations/q4-parts/' });
    const parts = await openCheckpoint(loaded.dir);
    expect(parts.names).toContain('model.embed_tokens.weight');
    expect(parts.names.filter(isQuantizedWeight)).toEqual([]);
    expect((await readdir(loaded.dir)).filter((f) => f.startsWith('model-'))).toEqual([]);
    // The same logits as the whole checkpoint with the same packed weights.
    const whole = await Decoder.fromFolder(await openModelFolder(join(FIXTURE, 'base')), await openPackedWeights(packedPath));
    const ids = [[1, 5, 9, 14, 3]];
    expect(maxAbsDiff(await forwardLogits(loaded.decoder, ids, [null]), await forwardLogits(whole, ids, [null]))).toBe(0);
    await whole.release();
    await rm(dir, { recursive: true, force: true });
  });

  test('bits the engine cannot serve are refused', async () => {
    const res = await post('/v1/completions', {
      model: 'tiny',
      prompt: 'x',
      rankgate: { tenant_id: 'tenant_1', target: { ...target(), weight_bits: 3 } },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('bad_routing');
  });
});

describe('served logits', () => {
  test("a completion's top log-probabilities are log-softmax of the engine's logits for that prompt", async () => {
    const { forwardLogits } = await import('../../gpu-backend/cli/parity.ts');
    const { Decoder } = await import('../../gpu-backend/engine/decoder.ts');
    const folder = await readModelFolder(join(FIXTURE, 'base'));
    const decoder = await Decoder.fromFolder(folder);
    const loaded = await models.base(base, 'tenant_1');
    const prompt = 'upper: red fox';
    const ids = await loaded.tokenizer!.encode(prompt, true);
    for (const task of [undefined, 'task_a']) {
      const served = await text({ prompt, max_tokens: 1, logprobs: 5 }, task);
      const top = Object.values(served.choices[0].logprobs.top_logprobs[0] as Record<string, number>).sort((a, b) => b - a);
      const adapter = task ? await readAdapterFolder(join(FIXTURE, 'adapters', task), folder.config) : null;
      const logits = await forwardLogits(decoder, [ids], [adapter]);
      const vocab = folder.config.vocabSize;
      // Log-softmax and its top 5, by the function tests/backend/sampling.test.ts checks against exact values.
      const expected = tokenLogprobs(logits.subarray((ids.length - 1) * vocab, ids.length * vocab), 0, 5).top.map((t) => t.logprob);
      // The legacy shape keys alternatives by token text: tokens that decode alike (here ids past the character
      // vocabulary, which decode to '') share one entry, holding one of their values.
      expect(top.length).toBeGreaterThanOrEqual(2);
      for (const v of top) expect(Math.min(...expected.map((e) => Math.abs(e - v))), `${task}`).toBeLessThan(1e-4);
    }
  });
});

describe('adapter mixes', () => {
  // task_a (rank 4: q, v) and task_b (rank 8: q, k, v, o): k and o come from task_b alone; a negative weight negates.
  const mix = [
    { ...adapterRef('task_a'), rank: 4, weight: 0.7 },
    { ...adapterRef('task_b'), rank: 8, weight: -0.4 },
  ];
  const mixTarget: RoutedTarget = {
    kind: 'mix',
    base_model: base,
    adapter: null,
    merge: null,
    mix,
    weight_bits: null,
    quantized_weights: null,
  };
  const catOfMix = async () => {
    const cfg = (await readModelFolder(join(FIXTURE, 'base'))).config;
    const members = await Promise.all(
      mix.map(async (m) => ({ name: m.id, baseModel: 'tiny', adapter: await readAdapterFolder(join(FIXTURE, 'adapters', m.name), cfg) })),
    );
    return (await mergeCollapsed(members, { method: 'cat', weights: mix.map((m) => m.weight) })).adapter;
  };

  test("a mixed row's logits equal a cat merge's of the same adapters and weights, beside a base row and a single-adapter row", async () => {
    const { forwardLogits } = await import('../../gpu-backend/cli/parity.ts');
    const loaded = await models.base(base, 'tenant_1');
    const mixed = await models.targetAdapter(loaded, mixTarget);
    // Cached by ids and weights: the same mix again is the same adapter, other weights another.
    expect(await models.targetAdapter(loaded, mixTarget)).toBe(mixed);
    expect(await models.targetAdapter(loaded, { ...mixTarget, mix: [mix[0], { ...mix[1], weight: 0.4 }] })).not.toBe(mixed);
    const taskA = await models.targetAdapter(loaded, target('task_a') as RoutedTarget);
    const ids = await loaded.tokenizer!.encode('upper: red fox', true);
    const vocab = loaded.decoder.cfg.vocabSize;
    const cat = await forwardLogits(loaded.decoder, [ids], [await catOfMix()]);
    const batch = await forwardLogits(loaded.decoder, [ids, ids, ids], [null, mixed, taskA]);
    const row = (logits: Float32Array, r: number) => logits.subarray(r * ids.length * vocab, (r + 1) * ids.length * vocab);
    const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    expect(maxDiff(row(batch, 1), cat)).toBeLessThan(1e-4);
    // Each other row as it is alone; and the mix is neither of them.
    expect(maxDiff(row(batch, 0), await forwardLogits(loaded.decoder, [ids], [null]))).toBeLessThan(1e-4);
    expect(maxDiff(row(batch, 2), await forwardLogits(loaded.decoder, [ids], [taskA]))).toBeLessThan(1e-4);
    expect(maxDiff(row(batch, 1), row(batch, 2))).toBeGreaterThan(1e-2);
  });

  test('a mix served over HTTP in one batch with the base and a single adapter answers as each does alone, and as its cat merge', async () => {
    const routed = (t: RoutedTarget | undefined) => ({ tenant_id: 'tenant_1', target: t });
    const ask = (t: unknown) =>
      json('/v1/completions', { model: 'tiny', prompt: 'hello there', max_tokens: 12, temperature: 0, logprobs: 2, rankgate: t });
    const targets = [routed(mixTarget), routing(), routing('task_a')];
    const alone = [];
    for (const t of targets) alone.push(await ask(t));
    const together = await Promise.all(targets.map(ask));
    expect(together.map((o) => o.choices[0].text)).toEqual(alone.map((o) => o.choices[0].text));
    expect(alone[0].choices[0].text).not.toBe(alone[2].choices[0].text);
    const store = new ObjectStore(s3.config);
    const cat = adapterFiles(await catOfMix());
    await store.put('merges/mix-cat/adapter_config.json', cat.config);
    await store.put('merges/mix-cat/adapter_model.safetensors', cat.weights);
    const asCat = await ask({
      tenant_id: 'tenant_1',
      target: { ...target('task_a'), adapter: { id: 'mix_cat', name: 'mix-cat', storage_prefix: 'merges/mix-cat/', rank: 12 } },
    });
    expect(asCat.choices[0].text).toBe(alone[0].choices[0].text);
    const firstLogprobs = (o: any) => Object.values(o.choices[0].logprobs.top_logprobs[0] as Record<string, number>);
    firstLogprobs(asCat).forEach((v, i) => expect(Math.abs(v - firstLogprobs(together[0])[i])).toBeLessThan(1e-4));
  });

  test("a mix whose ranks add up past the backend's MAX_MIX_RANK is refused, naming the limit", async () => {
    const narrow = new ModelCache(new FolderCache(new ObjectStore(s3.config), cacheDir), { maxMixRank: 8 });
    const loaded = await narrow.base(base, 'tenant_1');
    await expect(narrow.targetAdapter(loaded, mixTarget)).rejects.toMatchObject({
      code: 'mix_rank_too_large',
      message: expect.stringContaining('at most 8'),
    });
  });
});

describe('embeddings', () => {
  const embed = (body: Record<string, unknown>, rankgate: unknown = routing()) =>
    json('/v1/embeddings', { model: 'tiny', ...body, rankgate });
  const vector = (out: any, i = 0) => Float32Array.from(out.data[i].embedding as number[]);
  const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);

  test("texts and token ids answer in OpenAI's shape, unit length, as the engine's pooled hidden states", async () => {
    const out = await embed({ input: ['hello there', 'upper: red fox'] });
    expect(out).toMatchObject({
      object: 'list',
      model: 'tiny',
      data: [
        { object: 'embedding', index: 0 },
        { object: 'embedding', index: 1 },
      ],
    });
    const loaded = await models.base(base, 'tenant_1');
    const ids = await Promise.all(['hello there', 'upper: red fox'].map((t) => loaded.tokenizer!.encode(t, true)));
    expect(out.usage).toEqual({ prompt_tokens: ids[0].length + ids[1].length, total_tokens: ids[0].length + ids[1].length });
    const { generate } = await import('../../gpu-backend/engine/generate.ts');
    const engine = await generate(
      loaded.decoder,
      ids.map((prompt) => ({ prompt, adapter: null, maxTokens: 1, embedding: 'mean' as const })),
    );
    for (const i of [0, 1]) {
      expect(vector(out, i)).toHaveLength(loaded.decoder.cfg.hiddenSize);
      expect(maxDiff(vector(out, i), engine[i].embedding!)).toBeLessThan(1e-6);
    }
    // Token ids are used as given, one list or several.
    expect(maxDiff(vector(await embed({ input: ids[1] })), vector(out, 1))).toBeLessThan(1e-6);
    expect(maxDiff(vector(await embed({ input: ids }), 1), vector(out, 1))).toBeLessThan(1e-6);
  });

  test('base64 is the same float32 vector; last-token pooling is another vector; dimensions only as the hidden size', async () => {
    const floats = vector(await embed({ input: 'hello there' }));
    const b64 = (await embed({ input: 'hello there', encoding_format: 'base64' })).data[0].embedding as string;
    const bytes = Buffer.from(b64, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4))).toEqual(Array.from(floats));
    const last = vector(await embed({ input: 'hello there', pooling: 'last' }));
    expect(Math.hypot(...last)).toBeCloseTo(1, 5);
    expect(maxDiff(last, floats)).toBeGreaterThan(1e-2);
    expect(vector(await embed({ input: 'hello there', dimensions: floats.length }))).toEqual(floats);
    const error = await expectError(
      '/v1/embeddings',
      { model: 'tiny', input: 'hi', dimensions: 8, rankgate: routing() },
      400,
      'unsupported_dimensions',
    );
    expect(error.message).toContain(`${floats.length} dimensions`);
  });

  test('an adapter, a merge task, a mix and a quantized base each embed with their own weights, batched alike', async () => {
    const rev = { id: 'rev', name: 'rev', method: 'rmm_factor', storage_prefix: 'merges/rev/' };
    const mix = [{ ...adapterRef('task_a'), rank: 4, weight: 1 }];
    const targets = {
      base: routing(),
      task_a: routing('task_a'),
      task_b: routing('task_b'),
      merge_task: { tenant_id: 'tenant_1', target: { kind: 'merge_task', base_model: base, adapter: adapterRef('task_a'), merge: rev } },
      mix: { tenant_id: 'tenant_1', target: { kind: 'mix', base_model: base, adapter: null, merge: null, mix } },
      int8: { tenant_id: 'tenant_1', target: { ...target(), weight_bits: 8 } },
    };
    const input = ['hello there', 'a b c'];
    const alone: Record<string, any> = {};
    for (const [name, t] of Object.entries(targets)) alone[name] = await embed({ input }, t);
    const together = await Promise.all(Object.values(targets).map((t) => embed({ input }, t)));
    Object.keys(targets).forEach((name, k) => {
      for (const i of [0, 1]) expect(maxDiff(vector(together[k], i), vector(alone[name], i))).toBeLessThan(1e-5);
    });
    const differs = (a: string, b: string) => maxDiff(vector(alone[a]), vector(alone[b]));
    expect(differs('task_a', 'base')).toBeGreaterThan(1e-2);
    expect(differs('task_b', 'task_a')).toBeGreaterThan(1e-2);
    // At p = n a reversible merge's task is that task; a mix of one adapter at weight 1 is that adapter.
    expect(differs('merge_task', 'task_a')).toBeLessThan(1e-4);
    expect(differs('mix', 'task_a')).toBeLessThan(1e-5);
    // int8 weights move the vector a little, not to another one.
    expect(differs('int8', 'base')).toBeGreaterThan(0);
    expect(differs('int8', 'base')).toBeLessThan(5e-2);
  });

  test('inputs the model cannot take are refused whole, naming the input', async () => {
    const loaded = await models.base(base, 'tenant_1');
    const context = loaded.decoder.cfg.maxPositionEmbeddings;
    const long = await expectError(
      '/v1/embeddings',
      { model: 'tiny', input: [[1, 2], new Array(context + 1).fill(5)], rankgate: routing() },
      400,
      'context_too_long',
    );
    expect(long.message).toContain('input 1');
    await expectError('/v1/embeddings', { model: 'tiny', input: [1, 99999], rankgate: routing() }, 400, 'bad_token');
    await expectError('/v1/embeddings', { model: 'tiny', input: [], rankgate: routing() }, 400, 'invalid_field');
    await expectError('/v1/embeddings', { model: 'tiny', input: 'hi', pooling: 'max', rankgate: routing() }, 400, 'invalid_field');
    expect(loaded.scheduler.load).toBe(0);
  });
});
