/**
 * Pinning over the real stack (s3rver, the edge in Miniflare, backend processes whose adapter caches keep two):
 * a pin (made with the CLI) loads on the adapter's backend before any request and survives the requests that
 * evict other adapters there; the operator's residency view and the backend's /metrics show it; and when that
 * backend goes away, the next one in routing order takes the pin.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { root } from '../../scripts/edge-stack.ts';
import type { BackendProcess } from '../../scripts/backend-process.ts';
import { ADMIN_TOKEN, fixtureTenant, startStack, uploadFixtureAdapter, waitFor, type EdgeApi, type Stack, withStackLogs } from './stack.ts';

let stack: Stack;
let api: EdgeApi;
const ids: Record<string, string> = {};

beforeAll(async () => {
  // Heartbeats every second (stack.ts); a backend silent for 4 s is no longer routed to.
  stack = await startStack({ leaseTtlS: 30, vars: { HEARTBEAT_TTL_S: '4' }, backendEnv: { MAX_ADAPTERS: '2' } });
  api = await fixtureTenant(stack, 'pins');
  for (const [name, task] of [
    ['kept', 'task_a'],
    ['a', 'task_b'],
    ['b', 'task_a'],
    ['c', 'task_b'],
  ])
    ids[name] = (await uploadFixtureAdapter(api, name, task)).id;
});

afterAll(async () => {
  await stack?.stop();
});

function rankgate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'bin', 'rankgate.js'), ...args], {
    env: { ...process.env, RANKGATE_BASE_URL: stack.edge.edgeUrl, RANKGATE_API_KEY: api.key },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function residency(): Promise<any[]> {
  const res = await fetch(`${stack.edge.edgeUrl}/admin/v1/residency`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: any[] }).data;
}

/** The backend id whose residency has `adapterId` loaded and pinned (and the whole view), once one does. */
const pinHolder = (adapterId: string, not?: string) =>
  waitFor(
    `a backend${not ? ` other than ${not}` : ''} to hold ${adapterId} pinned`,
    async () => {
      const held = (await residency()).find(
        (b) => b.backend_id !== not && b.residency?.adapters.some((a: any) => a.id === adapterId && a.pinned && a.bytes > 0),
      );
      return held?.backend_id as string | undefined;
    },
    30_000,
  );

const complete = async (model: string) => {
  const res = await api.fetch('/v1/completions', { body: { model, prompt: 'ab', max_tokens: 2, temperature: 0 } });
  expect(res.status).toBe(200);
  return res.headers.get('x-rankgate-backend');
};

const gauge = async (backend: BackendProcess, name: string) =>
  Number(
    (await (await fetch(`${backend.url}/metrics`)).text())
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')[1] ?? Number.NaN,
  );

describe('pins over the real stack', () => {
  test('a pinned adapter loads before its first request and survives eviction that takes the others; residency and /metrics show it', () =>
    withStackLogs(stack, async () => {
      const pinned = await rankgate(['adapters', 'pin', 'kept']);
      expect(pinned).toMatchObject({ code: 0 });
      expect(JSON.parse(pinned.stdout)).toMatchObject({ id: ids.kept, pinned: true });
      expect((await rankgate(['adapters', 'list'])).stdout).toMatch(/tiny-llama:kept .* yes/);

      expect(await pinHolder(ids.kept)).toBe('e2e-backend-1');
      const before = (await residency())[0].residency.adapters.find((a: any) => a.id === ids.kept);
      expect(before.last_used_at).toBeNull();

      // The cache keeps two: a, b and c in turn push out whichever unpinned one was used least recently.
      for (const name of ['a', 'b', 'c']) expect(await complete(`tiny-llama:${name}`)).toBe('e2e-backend-1');
      const [view] = await residency();
      expect(view.residency.adapters.map((a: any) => a.id).sort()).toEqual([ids.c, ids.kept].sort());
      expect(view.residency.models).toEqual([expect.objectContaining({ bytes: expect.any(Number), loading: false })]);
      expect(await gauge(stack.backend, 'rankgate_pinned_adapters')).toBe(1);
      expect(await gauge(stack.backend, 'rankgate_resident_adapters')).toBe(2);
      expect(await gauge(stack.backend, 'rankgate_resident_models')).toBe(1);
      expect(await complete('tiny-llama:kept')).toBe('e2e-backend-1');
    }));

  test('when the backend holding a pin goes away, the next backend in routing order takes it', () =>
    withStackLogs(stack, async () => {
      const second = await stack.startBackend('e2e-backend-2');
      const holder = await pinHolder(ids.kept);
      const [held, other] = holder === 'e2e-backend-1' ? [stack.backend, second] : [second, stack.backend];
      await held.stop();
      expect(await pinHolder(ids.kept, holder)).not.toBe(holder);
      expect(await complete('tiny-llama:kept')).not.toBe(holder);
      expect(await gauge(other, 'rankgate_pinned_adapters')).toBe(1);

      // Unpinned, it is released at the next heartbeat.
      expect((await api.json(`/v1/adapters/${ids.kept}/pin`, { method: 'DELETE' })).pinned).toBe(false);
      await waitFor(
        'the pin to be released',
        async () => ((await gauge(other, 'rankgate_pinned_adapters')) === 0 ? true : undefined),
        10_000,
      );
    }));
});
