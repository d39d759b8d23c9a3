/**
 * Adapter versions over the real stack (s3rver, the edge in Miniflare, a backend process) with the official `openai`
 * SDK: an upload to an existing name is served as its next version, `<name>@v1` pins the first, a promote repoints
 * the name within the edge's cache TTL, and streams started before the promote finish on the version they started on.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_CACHE_TTL_MS } from '../../contracts/api/routed-target.ts';
import type { EdgeApi } from '../../scripts/edge-api.ts';
import { fixtureTenant, startStack, type Stack, uploadFixtureAdapter, waitFor, withStackLogs } from './stack.ts';

let stack: Stack;
let api: EdgeApi;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ leaseTtlS: 30 });
  api = await fixtureTenant(stack, 'versions');
  client = new OpenAI({ apiKey: api.key, baseURL: `${stack.edge.edgeUrl}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
});

const withLogs = <T>(run: () => Promise<T>) => withStackLogs(stack, run);

const PROMPT = 'upper: red fox';

/** Greedy text of `model`, long enough that two different adapters tell apart. */
async function greedy(model: string, maxTokens = 24): Promise<string> {
  const out = await client.completions.create({ model, prompt: PROMPT, max_tokens: maxTokens, temperature: 0 });
  return out.choices[0].text;
}

/** A streamed greedy completion, read up to its first chunk: the request is in flight when this returns. */
async function startStream(model: string, maxTokens: number) {
  const stream = await client.completions.create({ model, prompt: PROMPT, max_tokens: maxTokens, temperature: 0, stream: true });
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  let text = first.done ? '' : (first.value.choices[0]?.text ?? '');
  return {
    async rest(): Promise<string> {
      for (let r = await it.next(); !r.done; r = await it.next()) text += r.value.choices[0]?.text ?? '';
      return text;
    },
  };
}

describe('adapter versions', () => {
  test('an upload to a name serves its new version, @v1 pins the first, and promote rolls the name back', () =>
    withLogs(async () => {
      // References: each fixture adapter under a name of its own.
      await uploadFixtureAdapter(api, 'ref-a', 'task_a');
      await uploadFixtureAdapter(api, 'ref-b', 'task_b');
      const [a, b] = [await greedy('tiny-llama:ref-a'), await greedy('tiny-llama:ref-b')];
      expect(a).not.toBe(b);

      const v1 = await uploadFixtureAdapter(api, 'style', 'task_a');
      expect(v1).toMatchObject({ version: 1, current: true });
      expect(await greedy('tiny-llama:style')).toBe(a);
      const v2 = await uploadFixtureAdapter(api, 'style', 'task_b');
      expect(v2).toMatchObject({ version: 2, current: true, model: 'tiny-llama:style' });
      // The new version is served as soon as it is committed (this edge forgets its cached resolution at once).
      expect(await greedy('tiny-llama:style')).toBe(b);
      expect(await greedy('tiny-llama:style@v1')).toBe(a);
      expect(await greedy('tiny-llama:style@v2')).toBe(b);
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(expect.arrayContaining(['tiny-llama:style', 'tiny-llama:style@v1']));
      const missing = await greedy('tiny-llama:style@v3').catch((e) => e);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);

      const versions = await api.json('/v1/adapters/style/versions');
      expect(versions.data.map((v: any) => `v${v.version}${v.current ? '*' : ''}`)).toEqual(['v2*', 'v1']);
      expect(await api.json('/v1/adapters/style/versions/1/promote', { method: 'POST' })).toMatchObject({ id: v1.id, current: true });
      await waitFor(
        'the name to serve version 1',
        async () => ((await greedy('tiny-llama:style')) === a ? true : undefined),
        DEFAULT_CACHE_TTL_MS + 5000,
      );
      expect(await greedy('tiny-llama:style@v2')).toBe(b);
      // A mix names versions too: v1 and v2 at weight 1 and 0 would be refused (weight 0), so v2 alone at weight 1.
      const mixed = await client.completions.create({
        model: 'tiny-llama',
        prompt: PROMPT,
        max_tokens: 24,
        temperature: 0,
        // @ts-expect-error rankgate's extension field, sent as part of the body
        adapters: [{ name: 'style@v2', weight: 1 }],
      });
      expect(mixed.choices[0].text).toBe(b);
    }));

  test('streams in flight during a promote finish on the version they started with', () =>
    withLogs(async () => {
      await uploadFixtureAdapter(api, 'live', 'task_a');
      await uploadFixtureAdapter(api, 'live', 'task_b');
      const maxTokens = 96;
      const [onV1, onV2] = [await greedy('tiny-llama:live@v1', maxTokens), await greedy('tiny-llama:live@v2', maxTokens)];
      expect(onV1).not.toBe(onV2);
      // Eight streams on the name (version 2), each past its first token, batched together on the backend.
      const streams = await Promise.all(Array.from({ length: 8 }, () => startStream('tiny-llama:live', maxTokens)));
      await api.json('/v1/adapters/live/versions/1/promote', { method: 'POST' });
      const after = await startStream('tiny-llama:live', maxTokens);
      for (const text of await Promise.all(streams.map((s) => s.rest()))) expect(text).toBe(onV2);
      // A request that starts after the promote is served version 1.
      expect(await after.rest()).toBe(onV1);
    }));
});
