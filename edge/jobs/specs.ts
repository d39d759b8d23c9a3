/** What a backend needs to do a job: every input's place in the bucket, the parameters, where to write. */
import { asc, desc, eq } from 'drizzle-orm';
import {
  adapters,
  baseModels,
  compressions,
  files,
  fineTuningJobs,
  jobCheckpoints,
  mergeMembers,
  mergeReverts,
  merges,
} from '../../schema/index.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';

type AdapterRow = typeof adapters.$inferSelect;

function adapterRef(a: AdapterRow) {
  return { id: a.id, name: a.name, storage_prefix: a.storagePrefix, rank: a.rank };
}

async function baseRef(db: Db, id: string) {
  const [b] = await db.select().from(baseModels).where(eq(baseModels.id, id));
  return { id: b.id, name: b.name, storage_prefix: b.storagePrefix, config: b.configJson };
}

async function adapterById(db: Db, id: string) {
  const [a] = await db.select().from(adapters).where(eq(adapters.id, id));
  return a;
}

async function mergeMembersOf(db: Db, mergeId: string) {
  const rows = await db
    .select({ adapter: adapters, weight: mergeMembers.weight })
    .from(mergeMembers)
    .innerJoin(adapters, eq(adapters.id, mergeMembers.adapterId))
    .where(eq(mergeMembers.mergeId, mergeId))
    .orderBy(asc(mergeMembers.position));
  return rows.map((r) => ({ ...adapterRef(r.adapter), weight: r.weight }));
}

function lease(row: { id: string; attempts: number; leaseExpiresAt: number | null; outputPrefix: string }) {
  return { id: row.id, attempt: row.attempts, lease_expires_at: row.leaseExpiresAt, output_prefix: row.outputPrefix };
}

export async function jobSpec(db: Db, kind: JobKind, id: string) {
  switch (kind) {
    case 'fine_tuning': {
      const [job] = await db.select().from(fineTuningJobs).where(eq(fineTuningJobs.id, id));
      if (!job) break;
      const fileRef = async (fileId: string) => {
        const [f] = await db.select().from(files).where(eq(files.id, fileId));
        return { id: f.id, storage_key: f.storageKey };
      };
      const [last] = await db.select().from(jobCheckpoints).where(eq(jobCheckpoints.jobId, id)).orderBy(desc(jobCheckpoints.step)).limit(1);
      return {
        kind,
        ...lease(job),
        base_model: await baseRef(db, job.baseModelId),
        training_file: await fileRef(job.trainingFileId),
        validation_file: job.validationFileId ? await fileRef(job.validationFileId) : null,
        hyperparameters: job.hyperparameters,
        seed: job.seed,
        suffix: job.suffix,
        resume_from: last ? { checkpoint_id: last.id, step: last.step, storage_prefix: last.storagePrefix } : null,
      };
    }
    case 'merge': {
      const [m] = await db.select().from(merges).where(eq(merges.id, id));
      if (!m) break;
      return {
        kind,
        ...lease(m),
        base_model: await baseRef(db, m.baseModelId),
        method: m.method,
        basis_size: m.basisSize,
        density: m.density,
        params: m.params ?? {},
        members: await mergeMembersOf(db, m.id),
      };
    }
    case 'compression': {
      const [k] = await db.select().from(compressions).where(eq(compressions.id, id));
      if (!k) break;
      const source = await adapterById(db, k.sourceAdapterId);
      return {
        kind,
        ...lease(k),
        base_model: await baseRef(db, source.baseModelId),
        source: adapterRef(source),
        rank: k.rank,
        energy: k.energy,
        budget_bytes: k.budgetBytes,
        bits: k.bits,
      };
    }
    case 'revert': {
      const [r] = await db.select().from(mergeReverts).where(eq(mergeReverts.id, id));
      if (!r) break;
      const [m] = await db.select().from(merges).where(eq(merges.id, r.mergeId));
      return {
        kind,
        ...lease(r),
        base_model: await baseRef(db, m.baseModelId),
        merge: {
          id: m.id,
          method: m.method,
          storage_prefix: m.outputPrefix,
          basis_size: m.basisSize,
          members: await mergeMembersOf(db, m.id),
        },
        adapter: adapterRef(await adapterById(db, r.adapterId)),
      };
    }
  }
  throw new ApiError(404, 'task_not_found', `No ${kind} job "${id}".`, 'id');
}
