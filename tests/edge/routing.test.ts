import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { rendezvousOrder } from '../../edge/inference/rendezvous.ts';
import { call, createTenant, expectError } from './api.ts';
import { claim, heartbeat, taskCall } from './backend-client.ts';
import { fixtureAdapter, registerBase, storedQuantization, uploadAdapter } from './fixtures.ts';

const urls = inject('fakeBackends');
const ROUTED = ['rt-0', 'rt-1', 'rt-2'];

/** Moves a backend's last heartbeat far into the past: to the edge, it stopped heartbeating. */
async function silence(backendId: string) {
  await env.DB.prepare('update backends set last_heartbeat_at = 0 where id = ?').bind(backendId).run();
}

async function setup() {
  const t = await createTenant();
  await registerBase(t.key);
  const adapter = (await (await uploadAdapter(t.key, 'tiny-llama', 'task_a', await fixtureAdapter('task_a'))).json()) as any;
  return { ...t, adapterId: adapter.id as string };
}

async function chat(key: string, model = 'tiny-llama:task_a', extra: Record<string, unknown> = {}) {
  const res = await call('/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content: 'hello' }], ...extra } });
  return { res, backend: res.headers.get('x-rankgate-backend'), body: await res.text() };
}

describe('inference routing', () => {
  beforeEach(async () => {
    await env.DB.prepare('update backends set last_heartbeat_at = 0').run();
    for (const [i, id] of ROUTED.entries()) await heartbeat(id, urls[i]);
  });

  it('sends one adapter to the same backend while it is healthy, and moves it when it stops heartbeating', async () => {
    const t = await setup();
    const expected = rendezvousOrder(
      t.adapterId,
      ROUTED.map((id) => ({ id })),
    );
    const served = [];
    for (let i = 0; i < 5; i++) served.push((await chat(t.key)).backend);
    expect(new Set(served)).toEqual(new Set([expected[0].id]));
    const first = await chat(t.key);
    expect(first.res.status).toBe(200);
    expect(JSON.parse(first.body).choices[0].message.content).toBe(`served by fake-${ROUTED.indexOf(expected[0].id)}`);

    await silence(expected[0].id);
    const moved = [];
    for (let i = 0; i < 5; i++) moved.push((await chat(t.key)).backend);
    expect(new Set(moved)).toEqual(new Set([expected[1].id]));

    // Back in heartbeat, it gets its adapter back.
    await heartbeat(expected[0].id, urls[ROUTED.indexOf(expected[0].id)]);
    expect((await chat(t.key)).backend).toBe(expected[0].id);
  });

  it("sends the request on when a backend's queue is full, and answers 429 with Retry-After when every queue is", async () => {
    const t = await setup();
    const order = rendezvousOrder(
      t.adapterId,
      ROUTED.map((id) => ({ id })),
    ).map((b) => `fake-${ROUTED.indexOf(b.id)}`);
    const next = await chat(t.key, 'tiny-llama:task_a', { user: order[0] });
    expect(next.res.status).toBe(200);
    expect(JSON.parse(next.body).choices[0].message.content).toBe(`served by ${order[1]}`);
    const res = await call('/v1/chat/completions', {
      key: t.key,
      body: { model: 'tiny-llama:task_a', messages: [{ role: 'user', content: 'hello' }], user: order.join(',') },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('backends_busy');
  });

  it('routes <base>@int8 and @int4 to their stored quantizations (adapters on top), and refuses other widths and unknown bases', async () => {
    const t = await setup();
    const baseId = ((await (await call('/v1/base-models', { key: t.key })).json()) as any).data[0].id as string;
    const missing = (await (
      await call('/v1/chat/completions', {
        key: t.key,
        body: { model: 'tiny-llama@int4:task_a', messages: [{ role: 'user', content: 'x' }] },
      })
    ).json()) as any;
    expect(missing.error).toMatchObject({ code: 'quantized_weights_missing', param: 'model' });
    expect(missing.error.message).toContain(`POST /v1/base-models/${baseId}/quantizations {"bits": 4}`);
    const listedBefore = ((await (await call('/v1/models', { key: t.key })).json()) as any).data.map((m: any) => m.id);
    expect(listedBefore).not.toContain('tiny-llama@int4');
    const q = await storedQuantization(
      t.key,
      baseId,
      4,
      (kinds) => claim('quantizer', kinds),
      (id, body) => taskCall('quantization', id, 'complete', { backend_id: 'quantizer', ...body }),
    );
    const res = await call('/v1/chat/completions', {
      key: t.key,
      body: { model: 'tiny-llama@int4:task_a', messages: [{ role: 'user', content: 'hello' }] },
    });
    expect(res.status).toBe(200);
    const backend = res.headers.get('x-rankgate-backend')!;
    const log = (await (await fetch(`${urls[ROUTED.indexOf(backend)]}/_log`)).json()) as any[];
    expect(log.at(-1).body.rankgate.target).toMatchObject({
      kind: 'adapter',
      weight_bits: 4,
      adapter: { name: 'task_a' },
      quantized_weights: { id: q.id, storage_prefix: expect.stringContaining(`quantizations/${q.id}/`) },
    });
    const ask = (model: string) =>
      call('/v1/chat/completions', { key: t.key, body: { model, messages: [{ role: 'user', content: 'x' }] } });
    const bad = (await (await ask('tiny-llama@int3:task_a')).json()) as any;
    expect(bad.error).toMatchObject({ code: 'unsupported_weight_bits', param: 'model' });
    expect(bad.error.message).toContain('"tiny-llama@int8" and "tiny-llama@int4"');
    expect(((await (await ask('tiny-llama@fp8')).json()) as any).error.code).toBe('unsupported_weight_bits');
    expect(((await (await ask('nope@int8')).json()) as any).error.code).toBe('model_not_found');
    const listed = ((await (await call('/v1/models', { key: t.key })).json()) as any).data.map((m: any) => m.id);
    expect(listed).toEqual(expect.arrayContaining(['tiny-llama', 'tiny-llama@int4', 'tiny-llama:task_a']));
    expect(listed).not.toContain('tiny-llama@int8');
  });

  it('keeps other models where they were when one backend leaves', async () => {
    const t = await setup();
    const adapterHome = (await chat(t.key)).backend!;
    const baseHome = (await chat(t.key, 'tiny-llama')).backend!;
    const leaving = ROUTED.find((id) => id !== baseHome)!;
    await silence(leaving);
    expect((await chat(t.key, 'tiny-llama')).backend).toBe(baseHome);
    if (leaving !== adapterHome) expect((await chat(t.key)).backend).toBe(adapterHome);
  });

  it('skips a backend at capacity', async () => {
    const t = await setup();
    const order = rendezvousOrder(
      t.adapterId,
      ROUTED.map((id) => ({ id })),
    );
    await heartbeat(order[0].id, urls[ROUTED.indexOf(order[0].id)], { capacity: 2, in_flight: 2 });
    expect((await chat(t.key)).backend).toBe(order[1].id);
  });

  it('retries on another backend when one fails before the first byte', async () => {
    const t = await setup();
    // A backend id that outranks the three healthy ones for this adapter, on the server that drops connections.
    let dropper = '';
    for (let i = 0; !dropper; i++) {
      const order = rendezvousOrder(
        t.adapterId,
        [...ROUTED, `drop-${i}`].map((id) => ({ id })),
      );
      if (order[0].id === `drop-${i}`) dropper = `drop-${i}`;
    }
    await heartbeat(dropper, urls[3]);
    const { res, backend } = await chat(t.key);
    expect(res.status).toBe(200);
    expect(backend).toBe(
      rendezvousOrder(
        t.adapterId,
        ROUTED.map((id) => ({ id })),
      )[0].id,
    );
    await silence(dropper);
  });

  it('answers 503 with Retry-After when no backend is healthy', async () => {
    const t = await setup();
    for (const id of ROUTED) await silence(id);
    const { res, body } = await chat(t.key);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(JSON.parse(body).error).toMatchObject({ code: 'no_backend_available', type: 'service_unavailable_error' });
  });

  it('streams server-sent events when stream is true, and tells the backend what to load', async () => {
    const t = await setup();
    const { res, body, backend } = await chat(t.key, 'tiny-llama:task_a', { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(body.trim().endsWith('data: [DONE]')).toBe(true);
    const text = await call('/v1/completions', { key: t.key, body: { model: 'tiny-llama:task_a', prompt: 'Once upon' } });
    expect(((await text.json()) as any).choices[0].text).toMatch(/^served by fake-/);
    const log = (await (await fetch(`${urls[ROUTED.indexOf(backend!)]}/_log`)).json()) as { path: string; body: any }[];
    const seen = log.filter((r) => r.body?.rankgate?.tenant_id === t.id);
    expect(seen.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/completions']);
    expect(seen[0].body).toMatchObject({
      model: 'tiny-llama:task_a',
      stream: true,
      rankgate: { target: { kind: 'adapter', adapter: { id: t.adapterId, rank: 4 }, base_model: { name: 'tiny-llama' } } },
    });
  });

  it('refuses unknown and unready models before routing', async () => {
    const t = await setup();
    await expectError(
      '/v1/chat/completions',
      { key: t.key, body: { model: 'tiny-llama:nope', messages: [{ role: 'user', content: 'x' }] } },
      404,
      'model_not_found',
    );
    await expectError(
      '/v1/chat/completions',
      { key: t.key, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] } },
      404,
      'model_not_found',
    );
    await expectError('/v1/completions', { key: t.key, body: { model: 'a:b:c', prompt: 'x' } }, 400, 'invalid_model');
  });
});
