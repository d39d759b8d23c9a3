/** The tiny-llama fixtures as global-setup.ts put them in the bucket, and the steps tests repeat with them. */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { call, expectJson } from './api.ts';

export const store = new ObjectStore({
  endpoint: env.S3_ENDPOINT,
  bucket: env.S3_BUCKET,
  accessKeyId: env.S3_ACCESS_KEY_ID,
  secretAccessKey: env.S3_SECRET_ACCESS_KEY,
});

export const TINY_LLAMA_PREFIX = 'models/tiny-llama/';
export type Task = 'task_a' | 'task_b' | 'task_c';

export async function fixtureFile(task: Task, file: 'adapter_config.json' | 'adapter_model.safetensors'): Promise<Uint8Array> {
  const bytes = await store.getBytes(`fixtures/adapters/${task}/${file}`);
  if (!bytes) throw new Error(`fixture ${task}/${file} missing from the bucket; global-setup.ts uploads it`);
  return bytes;
}

export async function registerBase(key: string, name = 'tiny-llama', prefix = TINY_LLAMA_PREFIX) {
  return expectJson('/v1/base-models', { key, body: { name, storage_prefix: prefix } }, 201);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface AdapterFiles {
  config: Uint8Array;
  model: Uint8Array;
}

export async function fixtureAdapter(task: Task): Promise<AdapterFiles> {
  return { config: await fixtureFile(task, 'adapter_config.json'), model: await fixtureFile(task, 'adapter_model.safetensors') };
}

/** Creates an adapter and uploads its files (presigned PUTs or through the edge); returns the creation answer. */
export async function startUpload(
  key: string,
  base: string,
  name: string,
  files: AdapterFiles,
  opts: { via?: 'presigned' | 'edge'; declare?: AdapterFiles; withSha?: boolean } = {},
) {
  const declared = opts.declare ?? files;
  const created = await expectJson(
    '/v1/adapters',
    {
      key,
      body: {
        name,
        base_model: base,
        files: [
          { filename: 'adapter_config.json', bytes: declared.config.byteLength },
          {
            filename: 'adapter_model.safetensors',
            bytes: declared.model.byteLength,
            ...(opts.withSha ? { sha256: await sha256Hex(declared.model) } : {}),
          },
        ],
      },
    },
    201,
  );
  return created;
}

export async function putFile(key: string, created: any, filename: string, bytes: Uint8Array, via: 'presigned' | 'edge' = 'presigned') {
  const target = created.upload.files.find((f: any) => f.filename === filename);
  if (via === 'presigned') {
    const res = await fetch(target.presigned.url, { method: 'PUT', headers: target.presigned.headers, body: bytes });
    expect(res.status).toBe(200);
  } else {
    const res = await call(new URL(target.edge.url).pathname, {
      method: 'PUT',
      key,
      body: bytes,
      headers: { 'content-length': String(bytes.byteLength) },
    });
    expect(res.status).toBe(200);
  }
}

/** Uploads both files and commits; returns the commit's response. */
export async function uploadAdapter(
  key: string,
  base: string,
  name: string,
  files: AdapterFiles,
  opts: { via?: 'presigned' | 'edge'; withSha?: boolean } = {},
) {
  const created = await startUpload(key, base, name, files, opts);
  await putFile(key, created, 'adapter_config.json', files.config, opts.via);
  await putFile(key, created, 'adapter_model.safetensors', files.model, opts.via);
  return call(`/v1/adapters/${created.adapter.id}/commit`, { key, method: 'POST' });
}
