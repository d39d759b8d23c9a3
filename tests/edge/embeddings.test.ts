/**
 * POST /v1/embeddings at the edge: checked with the shared schema (contracts/api/embeddings.ts) before anything
 * is read from D1, resolved like a completion's model (adapter, mix, quantized base), and routed to a backend
 * with what it must load; the backend's answer is checked against OpenAI's shape.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { MAX_EMBEDDING_INPUTS } from '../../contracts/api/embeddings.ts';
import { MAX_PROMPT_BYTES } from '../../contracts/api/openai.ts';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { claim, heartbeat, taskCall } from './backend-client.ts';
import { fixtureAdapter, registerBase, storedQuantization, uploadAdapter } from './fixtures.ts';

const urls = inject('fakeBackends');
const ROUTED = ['em-0', 'em-1', 'em-2'];

async function setup() {
  const t = await createTenant();
  const baseId = (await registerBase(t.key)).id as string;
  for (const task of ['task_a', 'task_b'] as const) await uploadAdapter(t.key, 'tiny-llama', task, await fixtureAdapter(task));
  return { ...t, baseId };
}

/** What the edge forwarded for this tenant, from every stand-in backend's log. */
async function forwarded(tenantId: string) {
  const logs = await Promise.all(
    ROUTED.map(async (_, i) => (await (await fetch(`${urls[i]}/_log`)).json()) as { path: string; body: any }[]),
  );
  return logs.flat().filter((r) => r.body?.rankgate?.tenant_id === tenantId);
}

describe('embeddings', () => {
  beforeEach(async () => {
    await env.DB.prepare('update backends set last_heartbeat_at = 0').run();
    for (const [i, id] of ROUTED.entries()) await heartbeat(id, urls[i]);
  });

  it("routes an adapter's, a mix's and a quantized base's embeddings with what the backend must load, and answers in OpenAI's shape", async () => {
    const t = await setup();
    const out = await expectJson(
      '/v1/embeddings',
      { key: t.key, body: { model: 'tiny-llama:task_a', input: ['a', 'b'], pooling: 'last' } },
      200,
    );
    expect(out).toMatchObject({ object: 'list', model: 'tiny-llama:task_a', data: [{ index: 0 }, { index: 1 }] });
    const mix = [
      { name: 'task_a', weight: 0.5 },
      { name: 'task_b', weight: -0.5 },
    ];
    await expectJson('/v1/embeddings', { key: t.key, body: { model: 'tiny-llama', input: [1, 2, 3], adapters: mix } }, 200);
    await storedQuantization(
      t.key,
      t.baseId,
      8,
      (kinds) => claim('em-quantizer', kinds),
      (id, body) => taskCall('quantization', id, 'complete', { backend_id: 'em-quantizer', ...body }),
    );
    await expectJson('/v1/embeddings', { key: t.key, body: { model: 'tiny-llama@int8', input: 'x', encoding_format: 'base64' } }, 200);
    // Logs come per stand-in backend, not in time order: each request is found by its model.
    const seen = await forwarded(t.id);
    expect(seen.map((r) => r.path)).toEqual(['/v1/embeddings', '/v1/embeddings', '/v1/embeddings']);
    const sent = (model: string) => seen.find((r) => r.body.model === model)?.body;
    expect(sent('tiny-llama:task_a')).toMatchObject({
      input: ['a', 'b'],
      pooling: 'last',
      rankgate: { target: { kind: 'adapter', adapter: { name: 'task_a' }, base_model: { name: 'tiny-llama' } } },
    });
    expect(sent('tiny-llama').rankgate.target).toMatchObject({
      kind: 'mix',
      mix: [
        { name: 'task_a', weight: 0.5 },
        { name: 'task_b', weight: -0.5 },
      ],
    });
    expect(sent('tiny-llama@int8')).toMatchObject({ encoding_format: 'base64', rankgate: { target: { kind: 'base', weight_bits: 8 } } });
  });

  it('refuses bad input with a 400 that names the field, before routing', async () => {
    const t = await setup();
    const refused = (body: Record<string, unknown>, code: string) =>
      expectError('/v1/embeddings', { key: t.key, body: { model: 'tiny-llama', ...body } }, 400, code);
    await refused({ input: [] }, 'invalid_field');
    await refused({ input: [[]] }, 'invalid_field');
    await refused({ input: ['a', 1] }, 'invalid_field');
    await refused({ input: [-1] }, 'invalid_field');
    await refused({ input: new Array(MAX_EMBEDDING_INPUTS + 1).fill('a') }, 'invalid_field');
    await refused({ input: 'x', encoding_format: 'int8' }, 'invalid_field');
    await refused({ input: 'x', pooling: 'max' }, 'invalid_field');
    await refused({ input: 'x', dimensions: 0 }, 'invalid_field');
    await refused({ input: 'x', stream: true }, 'unknown_field');
    const big = await refused({ input: ['x'.repeat(MAX_PROMPT_BYTES / 2), 'y'.repeat(MAX_PROMPT_BYTES / 2 + 1)] }, 'prompt_too_large');
    expect(big.message).toContain(`${MAX_PROMPT_BYTES} bytes`);
    await expectError('/v1/embeddings', { key: t.key, body: { model: 'tiny-llama:nope', input: 'x' } }, 404, 'model_not_found');
    expect(await forwarded(t.id)).toEqual([]);
  });

  it('needs an API key', async () => {
    expect((await call('/v1/embeddings', { body: { model: 'tiny-llama', input: 'x' } })).status).toBe(401);
  });
});
