import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';

// The shared object-store module in Node, against a real S3-compatible server on loopback.
describe('ObjectStore against s3rver (Node)', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  beforeAll(async () => {
    s3 = await startLocalS3({ bucket: 'storage-test' });
    store = new ObjectStore(s3.config);
    await store.ensureBucket();
  });
  afterAll(() => s3.stop());

  it('puts, heads, reads ranges and whole objects', async () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    await store.put('a/b.bin', bytes);
    expect(await store.head('a/b.bin')).toMatchObject({ size: 1000 });
    expect(await store.getBytes('a/b.bin')).toEqual(bytes);
    expect(await store.getBytes('a/b.bin', { start: 10, end: 19 })).toEqual(bytes.subarray(10, 20));
    expect(await store.getText('missing')).toBeNull();
    expect(await store.head('missing')).toBeNull();
  });

  it('stores a streamed body byte for byte (no aws-chunked framing inside the object)', async () => {
    const bytes = new TextEncoder().encode('x'.repeat(70_000));
    const stream = Readable.from([bytes.subarray(0, 30_000), bytes.subarray(30_000)]);
    await store.put('stream.txt', stream, { contentLength: bytes.byteLength });
    expect(await store.getBytes('stream.txt')).toEqual(bytes);
    const got = await store.getStream('stream.txt');
    expect(got?.size).toBe(bytes.byteLength);
    expect(new Uint8Array(await new Response(got!.body).arrayBuffer())).toEqual(bytes);
  });

  it('presigned PUT and GET round-trip exactly the signed body', async () => {
    const body = new TextEncoder().encode('{"hello": "world"}');
    const sha = createHash('sha256').update(body).digest('hex');
    const put = await store.presignPut('presigned/x.json', { contentLength: body.byteLength, expiresInS: 60, sha256Hex: sha });
    const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body });
    expect(res.status).toBe(200);
    const get = await store.presignGet('presigned/x.json', 60);
    expect(await (await fetch(get.url)).text()).toBe('{"hello": "world"}');
  });

  it('copies, lists and deletes by prefix', async () => {
    await store.put('p/one', 'one');
    await store.copy('p/one', 'p/two with space');
    expect((await store.list('p/')).sort()).toEqual(['p/one', 'p/two with space']);
    await store.deletePrefix('p/');
    expect(await store.list('p/')).toEqual([]);
  });
});
