/**
 * A backend serves only what the edge signed for it: forged, misdirected, stale or altered requests are
 * refused with 401 before anything is parsed or served. And it will not start without its credential outside
 * local mode. Over real HTTP, with the tiny-llama fixture in a real s3rver.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_FORWARDED_BODY_BYTES } from '../../contracts/api/body-limits.ts';
import { EDGE_SIGNATURE_MAX_AGE_S, edgeSigner, newSigningKey } from '../../contracts/api/edge-signature.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import { backendApp } from '../../gpu-backend/serve/app.ts';
import { EdgeKey } from '../../gpu-backend/serve/edge-auth.ts';
import { ModelCache } from '../../gpu-backend/serve/models.ts';
import { configFromEnv } from '../../gpu-backend/server.ts';
import { FolderCache } from '../../gpu-backend/storage/folder-cache.ts';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { FIXTURE } from './helpers.ts';
import { signed, TEST_BACKEND_ID, testEdgeAuth, testSigner } from './edge-signing.ts';

const base = { id: 'base_tiny', name: 'tiny', storage_prefix: 'models/tiny/' };
const request = (tenant = 'tenant_1') => ({
  model: 'tiny',
  prompt: 'ab',
  max_tokens: 2,
  temperature: 0,
  rankgate: { tenant_id: tenant, target: { kind: 'base', base_model: base, adapter: null, merge: null } },
});

let s3: LocalS3;
let cacheDir: string;
let server: ServerType;
let unkeyed: ServerType;
let url: string;
let unkeyedUrl: string;
let sharedModels: ModelCache;
const inFlight = { count: 0 };
const cancelled: string[] = [];

function listen(app: { fetch: (req: Request) => Response | Promise<Response> }): Promise<[ServerType, string]> {
  const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  return new Promise((r) => s.once('listening', () => r([s, `http://127.0.0.1:${(s.address() as AddressInfo).port}`])));
}

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'edge-auth-test' });
  const store = new ObjectStore(s3.config);
  for (const file of await readdir(join(FIXTURE, 'base')))
    await store.put(`models/tiny/${file}`, await readFile(join(FIXTURE, 'base', file)));
  await store.put('models/tiny/tokenizer.json', JSON.stringify(tokenizerJson()));
  await store.put('models/tiny/tokenizer_config.json', JSON.stringify(tokenizerConfigJson()));
  cacheDir = await mkdtemp(join(tmpdir(), 'rankgate-edge-auth-'));
  const models = new ModelCache(new FolderCache(store, cacheDir));
  sharedModels = models;
  const cancelJob = (kind: string, id: string) => {
    cancelled.push(`${kind}/${id}`);
    return true;
  };
  [server, url] = await listen(backendApp({ edgeAuth: await testEdgeAuth(), models, inFlight, cancelJob }));
  [unkeyed, unkeyedUrl] = await listen(backendApp({ edgeAuth: { backendId: TEST_BACKEND_ID, edgeKey: new EdgeKey() }, models, inFlight }));
});

afterAll(async () => {
  for (const s of [server, unkeyed]) await new Promise((r) => s?.close(r));
  await s3?.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

/** One character in the middle changed (the last ones partly hold padding bits). */
const garble = (sig: string) => `${sig.slice(0, 20)}${sig[20] === 'A' ? 'B' : 'A'}${sig.slice(21)}`;

async function send(path: string, body: string, headers: Record<string, string>, at = url) {
  const res = await fetch(`${at}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
}

describe('forwarded requests', () => {
  test('a request the edge signed for this backend is served', async () => {
    const body = JSON.stringify(request());
    const res = await send('/v1/completions', body, await signed('POST', '/v1/completions', body));
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('text_completion');
  });

  test('forged, misdirected, stale, altered and replayed requests are refused with 401, and nothing is served', async () => {
    const body = JSON.stringify(request());
    const otherEdge = await edgeSigner((await newSigningKey()).signingKey);
    const stale = Date.now() - (EDGE_SIGNATURE_MAX_AGE_S + 5) * 1000;
    const good = await signed('POST', '/v1/completions', body);
    const forged: [string, string, string, Record<string, string>][] = [
      ['unsigned', '/v1/completions', body, {}],
      ['a bearer token instead', '/v1/completions', body, { authorization: 'Bearer dev-backend-secret' }],
      [
        'signed by another key',
        '/v1/completions',
        body,
        await otherEdge.sign({ backendId: TEST_BACKEND_ID, method: 'POST', path: '/v1/completions', body }),
      ],
      ['signed for another backend', '/v1/completions', body, await signed('POST', '/v1/completions', body, 'backend-b')],
      ['stale', '/v1/completions', body, await signed('POST', '/v1/completions', body, TEST_BACKEND_ID, stale)],
      ['from the future', '/v1/completions', body, await signed('POST', '/v1/completions', body, TEST_BACKEND_ID, Date.now() + 120_000)],
      ['body changed after signing', '/v1/completions', JSON.stringify(request('tenant_other')), good],
      ['sent to another path', '/v1/chat/completions', body, good],
      ['nonce changed', '/v1/completions', body, { ...good, 'x-rankgate-nonce': 'AAAAAAAAAAAAAAAAAAAAAA' }],
      // The good headers are sent for real only after these, below: each signature is taken once.
      ['signature garbled', '/v1/completions', body, { ...good, 'x-rankgate-signature': garble(good['x-rankgate-signature']) }],
    ];
    for (const [what, path, sent, headers] of forged) {
      const res = await send(path, sent, headers);
      expect({ what, status: res.status, code: res.body.error?.code }).toEqual({ what, status: 401, code: 'unauthorized' });
      expect(res.body.error.message).toContain('rankgate edge');
    }
    expect(inFlight.count).toBe(0);

    const replay = await send('/v1/completions', body, good);
    expect(replay.status).toBe(200);
    expect(await send('/v1/completions', body, good)).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });

    const cancelPath = '/internal/v1/tasks/fine_tuning/ftjob_1/cancel';
    expect((await send(cancelPath, '', await signed('POST', cancelPath, '', 'backend-b'))).status).toBe(401);
    expect(cancelled).toEqual([]);
    expect((await send(cancelPath, '', await signed('POST', cancelPath, ''))).status).toBe(200);
    expect(cancelled).toEqual(['fine_tuning/ftjob_1']);
  });

  test('a request signed for an earlier start of this backend (another boot id) is refused with 503, and nothing is served', async () => {
    const [booted, bootedUrl] = await listen(
      backendApp({ edgeAuth: { ...(await testEdgeAuth()), bootId: 'boot-now' }, models: sharedModels, inFlight }),
    );
    try {
      const body = JSON.stringify(request());
      const sign = async (bootId?: string) =>
        (await testSigner).sign({ backendId: TEST_BACKEND_ID, bootId, method: 'POST', path: '/v1/completions', body });
      for (const bootId of ['boot-before', undefined]) {
        const res = await send('/v1/completions', body, await sign(bootId), bootedUrl);
        expect({ bootId, status: res.status, code: res.body.error?.code }).toEqual({ bootId, status: 503, code: 'backend_restarted' });
      }
      // The boot id is signed: naming the current one on a signature made for another does not pass.
      const relabelled = { ...(await sign('boot-before')), 'x-rankgate-backend-boot': 'boot-now' };
      expect((await send('/v1/completions', body, relabelled, bootedUrl)).status).toBe(401);
      expect((await send('/v1/completions', body, await sign('boot-now'), bootedUrl)).status).toBe(200);
    } finally {
      await new Promise((r) => booted.close(r));
    }
  });

  test("until the edge's key is known, every request is refused (503, so the edge tries another backend)", async () => {
    const body = JSON.stringify(request());
    const res = await send('/v1/completions', body, await signed('POST', '/v1/completions', body), unkeyedUrl);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('edge_key_unknown');
  });
});

/**
 * Announces a body of `declaredBytes` but sends only its first 64 KiB, then waits for an answer: a backend that
 * reads the body before judging the request never answers (null after `waitMs`).
 */
function answerBeforeBody(path: string, headers: Record<string, string>, declaredBytes: number, waitMs = 5000) {
  return new Promise<{ status: number; body: any } | null>((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(declaredBytes), ...headers },
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(null);
    }, waitMs);
    req.on('response', async (res) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      req.destroy();
      resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    });
    req.on('error', (err) => (timer.hasRef() ? reject(err) : undefined));
    req.write(Buffer.alloc(64 * 1024, 0x20));
  });
}

describe('bodies', () => {
  test('an unsigned, stale or misdirected request is refused from its headers, before its body is read', async () => {
    const body = JSON.stringify(request());
    const stale = Date.now() - (EDGE_SIGNATURE_MAX_AGE_S + 5) * 1000;
    const cases: [string, Record<string, string>][] = [
      ['unsigned', {}],
      ['stale', await signed('POST', '/v1/completions', body, TEST_BACKEND_ID, stale)],
      ['signed for another backend', await signed('POST', '/v1/completions', body, 'backend-b')],
    ];
    for (const [what, headers] of cases) {
      const res = await answerBeforeBody('/v1/completions', headers, 256 * 1024 * 1024);
      expect({ what, status: res?.status, code: res?.body.error?.code }).toEqual({ what, status: 401, code: 'unauthorized' });
    }
  });

  test('a signed body larger than the edge ever forwards is refused with 413 before it is buffered', async () => {
    const big = JSON.stringify({ ...request(), prompt: 'a'.repeat(MAX_FORWARDED_BODY_BYTES) });
    // Announced: refused from its content-length, before the body is read.
    const announced = await answerBeforeBody('/v1/completions', await signed('POST', '/v1/completions', big), Buffer.byteLength(big));
    expect(announced).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    // Chunked, with no length announced: refused once the bytes read pass the cap.
    const chunked = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await signed('POST', '/v1/completions', big)) },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as any).error.message).toContain(`${MAX_FORWARDED_BODY_BYTES} bytes`);
    expect(inFlight.count).toBe(0);
  });
});

describe('the backend configuration', () => {
  test('refuses to start without its credential outside local mode, saying what to set', () => {
    expect(() => configFromEnv({})).toThrow(/BACKEND_TOKEN.*RANKGATE_LOCAL=1/);
    expect(() => configFromEnv({ BACKEND_TOKEN: 'rgb-x' })).toThrow(/BACKEND_ID/);
    expect(() => configFromEnv({ BACKEND_SECRET: 'dev-backend-secret', RANKGATE_LOCAL: '1' })).toThrow(/BACKEND_SECRET is no longer used/);
    expect(configFromEnv({ BACKEND_TOKEN: 'rgb-x', BACKEND_ID: 'gpu-1' })).toMatchObject({
      token: 'rgb-x',
      backendId: 'gpu-1',
      local: false,
    });
    expect(configFromEnv({ RANKGATE_LOCAL: '1' })).toMatchObject({ token: null, local: true });
  });
});
