/**
 * The check a merge, revert or compression artifact passes before its job may succeed: the manifest written
 * last (contracts/formats/job-artifacts.ts) is there, parses, names this job, and every file it lists is in
 * storage with its size and SHA-256; a reversible basis's manifest and tensor header match the merge it
 * claims to be. A file is read again only where the store vouches for neither its SHA-256 nor its MD5 (storedAsListed).
 * Each failure is an InvalidInputError whose message says what is wrong, for the job's error.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import {
  ARTIFACT_MANIFEST,
  type ArtifactFile,
  ArtifactManifest,
  BASIS_MANIFEST,
  BASIS_TENSORS,
  BasisManifest,
  type ArtifactLayout,
  type ReversibleFloatBits,
} from '../../contracts/formats/job-artifacts.ts';
import { headerLength, parseSafetensorsHeader } from '../../contracts/formats/safetensors.ts';
import type { ObjectInfo, ObjectStore } from '../../contracts/storage/object-store.ts';
import { describeIssues } from '../../contracts/api/zod-issues.ts';
import { toHex } from '../../contracts/formats/hex.ts';

/** A basis.json is a few KB per module; more is not a manifest. */
const MAX_BASIS_MANIFEST_BYTES = 8 * 1024 * 1024;
/** The basis header names two or three tensors per module. */
const MAX_BASIS_HEADER_BYTES = 16 * 1024 * 1024;

async function parseJsonObject(store: ObjectStore, key: string, maxBytes: number, what: string): Promise<unknown> {
  const info = await store.head(key);
  if (!info) invalid('output_missing', `no ${what} at "${key}".`, 'output_prefix');
  if (info.size > maxBytes) invalid('bad_artifact', `${what} is ${info.size} bytes; the limit is ${maxBytes}.`, 'output_prefix');
  const text = await store.getText(key);
  if (text === null) invalid('output_missing', `no ${what} at "${key}".`, 'output_prefix');
  try {
    return JSON.parse(text);
  } catch {
    return invalid('bad_artifact', `${what} is not valid JSON.`, 'output_prefix');
  }
}

async function sha256Of(store: ObjectStore, key: string): Promise<string | null> {
  const object = await store.getStream(key);
  if (!object) return null;
  const digest = new crypto.DigestStream('SHA-256');
  await object.body.pipeTo(digest);
  return toHex(await digest.digest);
}

/** A single-part object's ETag as the store's MD5 of its bytes (hex); null for any other kind of ETag. */
function etagMd5(etag: string | null): string | null {
  const md5 = etag?.replace(/"/g, '').toLowerCase() ?? '';
  return /^[0-9a-f]{32}$/.test(md5) ? md5 : null;
}

/**
 * Whether the stored object holds the bytes the manifest lists, reading it again only when the store vouches for
 * neither digest. A SHA-256 the store verified at upload decides alone. An MD5 ETag equal to the listed MD5 shows
 * the store holds the bytes the backend hashed (an MD5 collision would take a backend forging its own artifact,
 * which a correct manifest would let it do anyway); an ETag that differs may be no MD5 at all (SSE-KMS,
 * multipart), so the file is then read and hashed, as for a store that vouches for nothing.
 */
async function storedAsListed(store: ObjectStore, key: string, info: ObjectInfo, file: ArtifactFile): Promise<boolean> {
  if (info.sha256 !== null) return info.sha256 === file.sha256;
  if (file.md5 !== undefined && etagMd5(info.etag) === file.md5) return true;
  return (await sha256Of(store, key)) === file.sha256;
}

/**
 * The job's manifest, once every file it lists is in place. Files named in `hashedElsewhere` are checked by
 * size here and by hash by the caller (an adapter's weights are hashed by its own verification).
 */
export async function publishedArtifact(
  store: ObjectStore,
  outputPrefix: string,
  jobId: string,
  layout: ArtifactLayout,
  required: string[],
  hashedElsewhere: string[] = [],
): Promise<ArtifactManifest> {
  const key = outputPrefix + ARTIFACT_MANIFEST;
  if (!(await store.head(key)))
    invalid(
      'output_missing',
      `no ${ARTIFACT_MANIFEST} under "${outputPrefix}"; write the artifact's files, then its manifest last, before completing.`,
      'output_prefix',
    );
  const parsed = ArtifactManifest.safeParse(await parseJsonObject(store, key, 64 * 1024, ARTIFACT_MANIFEST));
  if (!parsed.success) invalid('bad_artifact', describeIssues(parsed.error, ARTIFACT_MANIFEST).message, 'output_prefix');
  const manifest = parsed.data;
  if (manifest.job_id !== jobId)
    invalid('bad_artifact', `${ARTIFACT_MANIFEST} belongs to job ${manifest.job_id}, not ${jobId}.`, 'output_prefix');
  if (manifest.layout !== layout)
    invalid('bad_artifact', `${ARTIFACT_MANIFEST} describes a ${manifest.layout} artifact; this job makes a ${layout}.`, 'output_prefix');
  const listed = new Set(manifest.files.map((f) => f.name));
  const missing = required.filter((name) => !listed.has(name));
  if (missing.length) invalid('bad_artifact', `${ARTIFACT_MANIFEST} does not list ${missing.join(', ')}.`, 'output_prefix');
  for (const file of manifest.files) {
    const info = await store.head(outputPrefix + file.name, { checksums: true });
    if (!info) invalid('output_incomplete', `${file.name} is listed in ${ARTIFACT_MANIFEST} but not in storage.`, 'output_prefix');
    if (info.size !== file.bytes)
      invalid(
        'output_incomplete',
        `${file.name} holds ${info.size} bytes but the manifest says ${file.bytes}; it was cut short or replaced.`,
        'output_prefix',
      );
    if (hashedElsewhere.includes(file.name)) continue;
    if (!(await storedAsListed(store, outputPrefix + file.name, info, file)))
      invalid(
        'output_incomplete',
        `${file.name} does not have the SHA-256 its manifest lists; it was replaced after the manifest.`,
        'output_prefix',
      );
  }
  return manifest;
}

/** The SHA-256 the manifest lists for `name` (present: publishedArtifact checked the required names). */
export function listedSha256(manifest: ArtifactManifest, name: string): string | undefined {
  return manifest.files.find((f) => f.name === name)?.sha256;
}

/**
 * A reversible merge's basis: basis.json names the merge's members (by adapter id), its basis size and float
 * bits, and every part it lists is a 2-D tensor of basis.safetensors in that precision (F32, or F16 at 16 bits).
 */
export async function checkBasis(
  store: ObjectStore,
  outputPrefix: string,
  want: { memberIds: string[]; basisSize: number; floatBits: ReversibleFloatBits },
) {
  const parsed = BasisManifest.safeParse(
    await parseJsonObject(store, outputPrefix + BASIS_MANIFEST, MAX_BASIS_MANIFEST_BYTES, BASIS_MANIFEST),
  );
  if (!parsed.success) invalid('bad_artifact', describeIssues(parsed.error, BASIS_MANIFEST).message, 'output_prefix');
  const basis = parsed.data;
  const tasks = basis.tasks.map((t) => t.name).sort();
  const members = [...want.memberIds].sort();
  if (tasks.length !== members.length || tasks.some((t, i) => t !== members[i]))
    invalid('bad_artifact', `${BASIS_MANIFEST} holds tasks ${tasks.join(', ')}; the merge's members are ${members.join(', ')}.`);
  if (basis.basis_size !== want.basisSize)
    invalid('bad_artifact', `${BASIS_MANIFEST} has basis size ${basis.basis_size}; the merge asked for ${want.basisSize}.`);
  const floatBits = basis.float_bits ?? 32;
  if (floatBits !== want.floatBits)
    invalid('bad_artifact', `${BASIS_MANIFEST} has float bits ${floatBits}; the merge asked for ${want.floatBits}.`);
  const dtype = floatBits === 16 ? 'F16' : 'F32';

  const key = outputPrefix + BASIS_TENSORS;
  const info = await store.head(key);
  if (!info) invalid('output_missing', `no ${BASIS_TENSORS} under "${outputPrefix}".`, 'output_prefix');
  const probe = await store.getBytes(key, { start: 0, end: Math.min(info.size, 8) - 1 });
  const length = headerLength(probe ?? new Uint8Array(), info.size);
  if (length > MAX_BASIS_HEADER_BYTES)
    invalid('bad_artifact', `${BASIS_TENSORS} declares a ${length}-byte header; the limit is ${MAX_BASIS_HEADER_BYTES}.`);
  const header = parseSafetensorsHeader((await store.getBytes(key, { start: 0, end: 8 + length - 1 }))!, info.size);
  for (const m of basis.modules) {
    for (const part of m.parts) {
      const t = header.tensors.get(`${m.path}.${part}`);
      if (t?.dtype !== dtype || t.shape.length !== 2)
        invalid('bad_artifact', `${BASIS_TENSORS} has no 2-D ${dtype} tensor "${m.path}.${part}", which ${BASIS_MANIFEST} lists.`);
    }
  }
  return basis;
}
