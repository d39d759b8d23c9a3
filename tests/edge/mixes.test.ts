/**
 * Per-request adapter mixes (`"model": "<base>"` with `"adapters"`): resolved for the tenant, refused at their
 * limits with a message that names them, and routed with what the backend must load and the weights.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { MAX_MIXED_ADAPTERS } from '../../contracts/api/openai.ts';
import { rendezvousOrder } from '../../edge/inference/rendezvous.ts';
import { call, createTenant, expectError } from './api.ts';
import { heartbeat } from './backend-client.ts';
import { fixtureAdapter, registerBase, type Task, uploadAdapter } from './fixtures.ts';

const urls = inject('fakeBackends');
const ROUTED = ['mx-0', 'mx-1', 'mx-2'];

async function setup() {
  const t = await createTenant();
  await registerBase(t.key);
  const ids: Record<string, string> = {};
  for (const task of ['task_a', 'task_b', 'task_c'] as Task[])
    ids[task] = ((await (await uploadAdapter(t.key, 'tiny-llama', task, await fixtureAdapter(task))).json()) as any).id;
  return { ...t, ids };
}

const chat = (key: string, adapters: unknown, model = 'tiny-llama') =>
  call('/v1/chat/completions', { key, body: { model, adapters, messages: [{ role: 'user', content: 'hello' }] } });
const refused = (key: string, adapters: unknown, status: number, code: string, model = 'tiny-llama') =>
  expectError('/v1/chat/completions', { key, body: { model, adapters, messages: [{ role: 'user', content: 'x' }] } }, status, code);

describe('adapter mixes', () => {
  beforeEach(async () => {
    await env.DB.prepare('update backends set last_heartbeat_at = 0').run();
    for (const [i, id] of ROUTED.entries()) await heartbeat(id, urls[i]);
  });

  it("routes a mix on its first adapter's id and tells the backend each adapter and weight", async () => {
    const t = await setup();
    const mix = [
      { name: 'task_b', weight: 0.7 },
      { name: t.ids.task_a, weight: -0.3 },
    ];
    const res = await chat(t.key, mix);
    expect(res.status).toBe(200);
    const backend = res.headers.get('x-rankgate-backend')!;
    expect(backend).toBe(
      rendezvousOrder(
        t.ids.task_b,
        ROUTED.map((id) => ({ id })),
      )[0].id,
    );
    const text = await call('/v1/completions', { key: t.key, body: { model: 'tiny-llama', prompt: 'x', adapters: mix } });
    expect(text.status).toBe(200);
    // A quantized base serves only the weights a quantization job stored; the mix is resolved first, then that 404.
    const int8 = await call('/v1/completions', { key: t.key, body: { model: 'tiny-llama@int8', prompt: 'x', adapters: mix } });
    expect(int8.status).toBe(404);
    expect(((await int8.json()) as { error: { code: string } }).error.code).toBe('quantized_weights_missing');
    const log = (await (await fetch(`${urls[ROUTED.indexOf(backend)]}/_log`)).json()) as { path: string; body: any }[];
    const chatTarget = log.filter((r) => r.body?.rankgate?.tenant_id === t.id)[0].body.rankgate.target;
    expect(chatTarget).toMatchObject({
      kind: 'mix',
      base_model: { name: 'tiny-llama' },
      adapter: null,
      weight_bits: null,
      mix: [
        { id: t.ids.task_b, name: 'task_b', rank: 8, weight: 0.7 },
        { id: t.ids.task_a, name: 'task_a', rank: 4, weight: -0.3 },
      ],
    });
  });

  it('refuses more than 8 adapters, weight 0, a name twice, and an empty list, before reading D1', async () => {
    const t = await setup();
    const many = Array.from({ length: MAX_MIXED_ADAPTERS + 1 }, (_, i) => ({ name: `a${i}`, weight: 1 }));
    expect((await refused(t.key, many, 400, 'too_many_adapters')).message).toContain(`at most ${MAX_MIXED_ADAPTERS}`);
    expect((await refused(t.key, [{ name: 'task_a', weight: 0 }], 400, 'invalid_adapters')).message).toContain('other than 0');
    const twice = [
      { name: 'task_a', weight: 1 },
      { name: 'task_a', weight: 2 },
    ];
    expect((await refused(t.key, twice, 400, 'invalid_adapters')).message).toContain('listed twice');
    await refused(t.key, [], 400, 'invalid_adapters');
    await refused(t.key, [{ name: 'task_a', weight: 1, scale: 2 }], 400, 'unknown_field');
  });

  it('refuses ranks past MAX_MIX_RANK, an unknown adapter, one of another base, and an adapter in model as well', async () => {
    const t = await setup();
    const all = ['task_a', 'task_b', 'task_c'].map((name) => ({ name, weight: 1 }));
    const wide = await refused(t.key, all, 400, 'mix_rank_too_large');
    expect(wide.message).toContain('add up to 20');
    expect(wide.message).toContain('at most 12');
    expect(wide.param).toBe('adapters');
    const unknown = await refused(t.key, [{ name: 'nope', weight: 1 }], 404, 'model_not_found');
    expect(unknown.message).toContain('"nope"');
    await registerBase(t.key, 'other-base');
    await uploadAdapter(t.key, 'other-base', 'elsewhere', await fixtureAdapter('task_a'));
    const otherBase = await refused(
      t.key,
      [
        { name: 'task_a', weight: 1 },
        { name: 'elsewhere', weight: 1 },
      ],
      400,
      'base_model_mismatch',
    );
    expect(otherBase.message).toContain('"other-base", not "tiny-llama"');
    const both = await refused(t.key, [{ name: 'task_b', weight: 1 }], 400, 'model_and_adapters', 'tiny-llama:task_a');
    expect(both.message).toContain('choose one');
    // The base must exist too, as for any model.
    await refused(t.key, [{ name: 'task_a', weight: 1 }], 404, 'model_not_found', 'nope');
  });
});
