/**
 * Pinning adapters (POST/DELETE /v1/adapters/{id}/pin): bounded per tenant (MAX_PINNED_ADAPTERS is 2 here),
 * handed to the backend the adapter routes to in its heartbeat answer, and to the next one when routing moves;
 * and the operator's residency view, gathered from each fresh backend over the signed internal channel.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { rendezvousOrder } from '../../edge/inference/rendezvous.ts';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { heartbeat } from './backend-client.ts';
import { fixtureAdapter, registerBase, type Task, uploadAdapter } from './fixtures.ts';
import { TEST_ADMIN_TOKEN } from './secrets.ts';

const urls = inject('fakeBackends');
const PINNED = ['pin-0', 'pin-1', 'pin-2'];

async function tenantWith(tasks: Task[]) {
  const t = await createTenant();
  await registerBase(t.key);
  const ids: string[] = [];
  for (const task of tasks)
    ids.push(((await (await uploadAdapter(t.key, 'tiny-llama', task, await fixtureAdapter(task))).json()) as any).id);
  return { ...t, ids };
}

const pin = (key: string, id: string, status = 200) => expectJson(`/v1/adapters/${id}/pin`, { key, method: 'POST' }, status);
const unpin = (key: string, id: string) => expectJson(`/v1/adapters/${id}/pin`, { key, method: 'DELETE' }, 200);

/** The adapter ids a backend's heartbeat answer pins on it. */
async function pinsOf(backendId: string): Promise<string[]> {
  const ack = await heartbeat(backendId, urls[PINNED.indexOf(backendId)]);
  return ack.pinned.map((p: any) => p.target.adapter.id);
}

beforeEach(async () => {
  await env.DB.prepare('update backends set last_heartbeat_at = 0').run();
  for (const [i, id] of PINNED.entries()) await heartbeat(id, urls[i]);
});

// Each test uploads adapters and makes tenants: seconds on a loaded machine.
describe('pins', { timeout: 20_000 }, () => {
  it('pins and unpins an adapter by id or name; the adapter object says so, and doing it twice changes nothing', async () => {
    const t = await tenantWith(['task_a']);
    const [id] = t.ids;
    expect((await expectJson(`/v1/adapters/${id}`, { key: t.key }, 200)).pinned).toBe(false);
    expect(await pin(t.key, 'task_a')).toMatchObject({ id, pinned: true });
    expect((await pin(t.key, id)).pinned).toBe(true);
    expect((await expectJson('/v1/adapters', { key: t.key }, 200)).data[0]).toMatchObject({ id, pinned: true });
    expect((await unpin(t.key, id)).pinned).toBe(false);
    expect((await unpin(t.key, 'task_a')).pinned).toBe(false);
    expect((await expectJson(`/v1/adapters/${id}`, { key: t.key }, 200)).pinned).toBe(false);
  });

  it('refuses a pin past MAX_PINNED_ADAPTERS with a 409 naming the limit and the pinned adapters; other tenants have their own', async () => {
    const t = await tenantWith(['task_a', 'task_b', 'task_c']);
    await pin(t.key, t.ids[0]);
    await pin(t.key, t.ids[1]);
    const refused = await expectError(`/v1/adapters/${t.ids[2]}/pin`, { key: t.key, method: 'POST' }, 409, 'pin_limit_reached');
    expect(refused.message).toContain('MAX_PINNED_ADAPTERS, 2');
    expect(refused.message).toContain('task_a, task_b');
    expect(refused.message).toContain('unpin one first');
    expect((await expectJson(`/v1/adapters/${t.ids[2]}`, { key: t.key }, 200)).pinned).toBe(false);
    // Re-pinning one already pinned is no new pin, so the limit does not stand in its way.
    expect((await pin(t.key, t.ids[1])).pinned).toBe(true);
    const other = await tenantWith(['task_a']);
    expect((await pin(other.key, other.ids[0])).pinned).toBe(true);
    await unpin(t.key, t.ids[0]);
    expect((await pin(t.key, t.ids[2])).pinned).toBe(true);
  });

  it('refuses to pin an adapter that is not ready, and another tenant’s adapter reads as missing', async () => {
    const t = await tenantWith([]);
    const files = await fixtureAdapter('task_a');
    const { adapter: created } = await expectJson(
      '/v1/adapters',
      {
        key: t.key,
        body: {
          name: 'half',
          base_model: 'tiny-llama',
          files: [
            { filename: 'adapter_config.json', bytes: files.config.byteLength },
            { filename: 'adapter_model.safetensors', bytes: files.model.byteLength },
          ],
        },
      },
      201,
    );
    await expectError(`/v1/adapters/${created.id}/pin`, { key: t.key, method: 'POST' }, 409, 'adapter_not_ready');
    const other = await createTenant();
    await expectError(`/v1/adapters/${created.id}/pin`, { key: other.key, method: 'POST' }, 404);
    await expectError(`/v1/adapters/${created.id}/pin`, { key: other.key, method: 'DELETE' }, 404);
  });

  it("goes to the backend the adapter routes to, in its heartbeat answer, as a completion's routed target; to the next when that one leaves", async () => {
    const t = await tenantWith(['task_a']);
    const [id] = t.ids;
    const order = rendezvousOrder(
      id,
      PINNED.map((b) => ({ id: b })),
    ).map((b) => b.id);
    expect(await pinsOf(order[0])).not.toContain(id);
    await pin(t.key, id);
    const ack = await heartbeat(order[0], urls[PINNED.indexOf(order[0])]);
    const held = ack.pinned.find((p: any) => p.target.adapter.id === id);
    expect(held).toMatchObject({
      tenant_id: t.id,
      target: {
        kind: 'adapter',
        base_model: { name: 'tiny-llama', storage_prefix: expect.any(String) },
        adapter: { id, name: 'task_a', storage_prefix: expect.stringContaining(id) },
        merge: null,
        weight_bits: null,
        quantized_weights: null,
      },
    });
    for (const other of order.slice(1)) expect(await pinsOf(other)).not.toContain(id);

    // The first backend stops heartbeating: requests for the adapter now go to the second, and so does its pin.
    await env.DB.prepare('update backends set last_heartbeat_at = 0 where id = ?').bind(order[0]).run();
    expect(await pinsOf(order[1])).toContain(id);
    expect(
      (
        await call('/v1/chat/completions', {
          key: t.key,
          body: { model: 'tiny-llama:task_a', messages: [{ role: 'user', content: 'hi' }] },
        })
      ).headers.get('x-rankgate-backend'),
    ).toBe(order[1]);

    await unpin(t.key, id);
    expect(await pinsOf(order[1])).not.toContain(id);
  });
});

describe('residency (operator)', { timeout: 20_000 }, () => {
  it('lists each fresh backend with what it says it has loaded, and the error of one that does not answer', async () => {
    await expectError('/admin/v1/residency', { key: (await createTenant()).key }, 401);
    // The last stand-in drops every connection.
    await heartbeat('pin-dead', urls.at(-1)!);
    const list = await expectJson('/admin/v1/residency', { key: TEST_ADMIN_TOKEN }, 200);
    expect(list.object).toBe('list');
    const byId = new Map(list.data.map((e: any) => [e.backend_id, e]));
    expect([...byId.keys()].sort()).toEqual([...PINNED, 'pin-dead']);
    for (const [i, id] of PINNED.entries()) {
      expect(byId.get(id)).toMatchObject({
        object: 'backend_residency',
        url: urls[i],
        capacity: 4,
        in_flight: 0,
        error: null,
        residency: {
          models: [{ id: `model-of-fake-${i}`, bytes: 1024, last_used_at: 1, loading: false }],
          adapters: [{ id: `adapter-of-fake-${i}`, bytes: 64, last_used_at: null, pinned: true }],
        },
      });
    }
    expect(byId.get('pin-dead')).toMatchObject({ residency: null, error: expect.any(String) });
    // A backend that stopped heartbeating is not asked.
    await env.DB.prepare('update backends set last_heartbeat_at = 0 where id = ?').bind(PINNED[0]).run();
    const after = await expectJson('/admin/v1/residency', { key: TEST_ADMIN_TOKEN }, 200);
    expect(after.data.map((e: any) => e.backend_id)).not.toContain(PINNED[0]);
  });
});
