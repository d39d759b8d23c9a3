/**
 * Makes a fresh local stack usable at once, and is idempotent across restarts: a tenant and API key (kept in
 * the state folder, and made again if the edge no longer knows the key), the embedded model's files in the
 * bucket, the base model registered, and its adapters uploaded and committed. Everything goes through the
 * edge's public API, as a user would do it.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ObjectStore } from '../contracts/storage/object-store.ts';
import { EdgeApi } from './edge-api.ts';
import type { EmbeddedModel } from './embedded-model.ts';

export interface BootstrapOptions {
  edgeUrl: string;
  adminToken: string;
  /** Holds the API key between runs. */
  stateFile: string;
  store: ObjectStore;
  model: EmbeddedModel;
  log: (line: string) => void;
}

export interface Bootstrapped {
  api: EdgeApi;
  /** Model ids ready to call: the base, then `<base>:<adapter>` for each committed adapter. */
  models: string[];
}

async function tenant(opts: BootstrapOptions): Promise<EdgeApi> {
  const saved = (await readFile(opts.stateFile, 'utf8').then(JSON.parse, () => null)) as { api_key?: string } | null;
  if (saved?.api_key) {
    const api = new EdgeApi(opts.edgeUrl, saved.api_key);
    if ((await api.fetch('/v1/models')).status === 200) return api;
    opts.log('The saved API key is unknown to the edge (its database was reset); creating a new tenant.');
  }
  const api = await EdgeApi.newTenant(opts.edgeUrl, opts.adminToken, 'local');
  await mkdir(dirname(opts.stateFile), { recursive: true });
  await writeFile(opts.stateFile, JSON.stringify({ api_key: api.key }, null, 2) + '\n');
  await chmod(opts.stateFile, 0o600);
  return api;
}

const hash = (algorithm: 'md5' | 'sha256', bytes: Uint8Array) => createHash(algorithm).update(bytes).digest('hex');

/** Puts the base model's files in the bucket, skipping those already there as they are (a one-part ETag is the MD5). */
async function uploadBase(opts: BootstrapOptions): Promise<void> {
  const { store, model } = opts;
  for (const [name, bytes] of model.baseFiles) {
    const stored = await store.head(model.prefix + name);
    if (stored?.size === bytes.byteLength && stored.etag?.replace(/"/g, '') === hash('md5', bytes)) continue;
    opts.log(`Uploading ${model.prefix}${name} (${bytes.byteLength} bytes)`);
    await store.put(model.prefix + name, bytes, { contentLength: bytes.byteLength });
  }
}

async function registerBase(api: EdgeApi, model: EmbeddedModel): Promise<void> {
  const bases = (await api.json('/v1/base-models?limit=100')).data as { name: string }[];
  if (bases.some((b) => b.name === model.name)) return;
  await api.json('/v1/base-models', { body: { name: model.name, storage_prefix: model.prefix } }, 201);
}

async function adapterFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const f of ['adapter_config.json', 'adapter_model.safetensors']) files.set(f, new Uint8Array(await readFile(join(dir, f))));
  return files;
}

/** Uploads and commits one adapter of `opts.model`'s base, as a user does; false (and a log line) when the edge refuses it. */
export async function uploadAdapter(
  api: EdgeApi,
  opts: Pick<BootstrapOptions, 'log'> & { model: { name: string } },
  name: string,
  files: Map<string, Uint8Array>,
): Promise<boolean> {
  const declared = [...files].map(([filename, b]) => ({
    filename,
    bytes: b.byteLength,
    ...(filename === 'adapter_model.safetensors' ? { sha256: hash('sha256', b) } : {}),
  }));
  const created = await api.json('/v1/adapters', { body: { name, base_model: opts.model.name, files: declared } }, 201);
  for (const target of created.upload.files as { filename: string; presigned: { url: string; headers: Record<string, string> } }[]) {
    // fetch sets content-length from the body itself.
    const headers = Object.fromEntries(Object.entries(target.presigned.headers).filter(([h]) => h !== 'content-length'));
    const res = await fetch(target.presigned.url, { method: 'PUT', headers, body: files.get(target.filename) });
    if (!res.ok) throw new Error(`uploading ${name}/${target.filename}: ${res.status} ${await res.text()}`);
  }
  const res = await api.fetch(`/v1/adapters/${created.adapter.id}/commit`, { method: 'POST' });
  if (res.ok) return true;
  opts.log(`Adapter ${name} was not accepted (${res.status}): ${await res.text()}`);
  return false;
}

export async function bootstrap(opts: BootstrapOptions): Promise<Bootstrapped> {
  const api = await tenant(opts);
  await uploadBase(opts);
  await registerBase(api, opts.model);
  const existing = new Map(
    (
      (await api.json('/v1/adapters?limit=100')).data as {
        id: string;
        name: string;
        base_model: string;
        status: string;
        sha256: string | null;
      }[]
    )
      .filter((a) => a.base_model === opts.model.name)
      .map((a) => [a.name, a]),
  );
  const models = [opts.model.name];
  for (const adapter of opts.model.adapters) {
    const id = `${opts.model.name}:${adapter.name}`;
    const files = await adapterFiles(adapter.dir);
    const known = existing.get(adapter.name);
    const sha256 = hash('sha256', files.get('adapter_model.safetensors')!);
    // A version with these files is kept, whichever version the name serves: versions the user uploaded or promoted
    // since (the README's tour makes some) stay as they are.
    if (known) {
      const versions = (await api.json(`/v1/adapters/${known.id}/versions?limit=100`)).data as { status: string; sha256: string | null }[];
      if (versions.some((v) => v.status === 'ready' && v.sha256 === sha256)) {
        models.push(id);
        continue;
      }
    }
    // New, or regenerated since, or left from an interrupted start or refused: these files become the name's next version.
    opts.log(`Uploading adapter ${id}`);
    if (await uploadAdapter(api, opts, adapter.name, files)) models.push(id);
  }
  return { api, models };
}
