/**
 * `model` strings: `<base>`, `<base>:<adapter>`, `<base>:<merge>` or `<base>:<merge>/<task>` (an adapter or task as
 * `<name>@v<n>` pins one of its versions; a bare name is the version the name serves now), resolved to
 * what the tenant owns and what a backend must load. Anything else, or anything not servable yet, is a 4xx.
 */
import { and, desc, eq, inArray, or } from 'drizzle-orm';
import { isReversibleMerge, REVERSIBLE_MERGE_METHODS } from '../../contracts/api/merge-methods.ts';
import { SERVED_WEIGHT_BITS, type RoutedTarget, type ServedWeightBits } from '../../contracts/api/routed-target.ts';
import { adapters, baseModels, merges, quantizations } from '../../schema/index.ts';
import { adapterRefWhere, matchesAdapterRef, parseAdapterRef } from '../adapters/versions.ts';
import type { Db } from '../db.ts';
import { findMemberTask } from '../lookups.ts';
import { ApiError } from '../errors.ts';

const MODEL = /^([^:/]+)(?::([^:/]+)(?:\/([^:/]+))?)?$/;

/** What a backend needs to load an adapter. */
export const adapterRef = (a: typeof adapters.$inferSelect) => ({ id: a.id, name: a.name, storage_prefix: a.storagePrefix, rank: a.rank });

function unknownModel(model: string, what: string): ApiError {
  return new ApiError(
    404,
    'model_not_found',
    `The model "${model}" does not exist for this API key: ${what}. GET /v1/models lists the models you can call.`,
    'model',
  );
}

type Resolved = { target: RoutedTarget; routingKey: string };

export async function resolveModel(db: Db, tenantId: string, model: string): Promise<Resolved> {
  const m = MODEL.exec(model);
  if (!m)
    throw new ApiError(
      400,
      'invalid_model',
      `"${model}" is not a model id; use "<base>", "<base>:<adapter>", "<base>:<merge>" or "<base>:<merge>/<task>" (with "<base>@int8" or "<base>@int4" for a quantized base).`,
      'model',
    );
  const [, baseSpec, name, task] = m;
  const { baseName, bits } = baseVariant(baseSpec);
  const { target, routingKey } = await resolveNamed(db, tenantId, model, baseName, name, task);
  // A quantized base is another model to load: it routes on its own key, so it warms its own backends.
  if (bits === null) return { target: { ...target, weight_bits: null, quantized_weights: null }, routingKey };
  const stored = await storedQuantization(db, tenantId, target.base_model, bits);
  return { target: { ...target, weight_bits: bits, quantized_weights: stored }, routingKey: `${routingKey}@int${bits}` };
}

/**
 * The newest succeeded quantization of `base` at `bits`. None is a 404 that names the call making one: a
 * completion request does not start minutes of quantization behind the caller's back (a job is something users
 * start, watch and pay for on purpose).
 */
async function storedQuantization(db: Db, tenantId: string, base: { id: string; name: string }, bits: ServedWeightBits) {
  const [q] = await db
    .select({ id: quantizations.id, storage_prefix: quantizations.outputPrefix })
    .from(quantizations)
    .where(
      and(
        eq(quantizations.tenantId, tenantId),
        eq(quantizations.baseModelId, base.id),
        eq(quantizations.bits, bits),
        eq(quantizations.status, 'succeeded'),
      ),
    )
    .orderBy(desc(quantizations.id))
    .limit(1);
  if (!q)
    throw new ApiError(
      404,
      'quantized_weights_missing',
      `"${base.name}@int${bits}" has no stored ${bits}-bit weights yet; make them once with POST /v1/base-models/${base.id}/quantizations {"bits": ${bits}} and call it when that job succeeds.`,
      'model',
    );
  return q;
}

/** `<base>` or `<base>@int<bits>`: names cannot hold "@", so it only ever starts a variant. */
function baseVariant(spec: string): { baseName: string; bits: ServedWeightBits | null } {
  const at = spec.indexOf('@');
  if (at < 0) return { baseName: spec, bits: null };
  const bits = /^int(\d{1,2})$/.exec(spec.slice(at + 1))?.[1];
  const served = SERVED_WEIGHT_BITS.find((b) => String(b) === bits);
  if (served === undefined)
    throw new ApiError(
      400,
      'unsupported_weight_bits',
      `"${spec}" asks for a base served at ${bits ? `${bits} bits` : `"${spec.slice(at + 1)}"`}; the variants are ${SERVED_WEIGHT_BITS.map((b) => `"${spec.slice(0, at)}@int${b}"`).join(' and ')}.`,
      'model',
    );
  return { baseName: spec.slice(0, at), bits: served };
}

async function resolveNamed(
  db: Db,
  tenantId: string,
  model: string,
  baseName: string,
  name: string | undefined,
  task: string | undefined,
): Promise<{ target: Omit<RoutedTarget, 'weight_bits' | 'quantized_weights'>; routingKey: string }> {
  const [base] = await db
    .select()
    .from(baseModels)
    .where(and(eq(baseModels.tenantId, tenantId), eq(baseModels.name, baseName)));
  if (!base) throw unknownModel(model, `no base model "${baseName}"`);
  const baseRef = { id: base.id, name: base.name, storage_prefix: base.storagePrefix };
  if (!name) return { target: { kind: 'base', base_model: baseRef, adapter: null, merge: null }, routingKey: base.id };

  const [adapter] = task
    ? []
    : await db
        .select()
        .from(adapters)
        .where(and(adapterRefWhere(tenantId, name), eq(adapters.baseModelId, base.id)));
  if (adapter) {
    if (adapter.status !== 'ready')
      throw new ApiError(
        409,
        'model_not_ready',
        `Adapter "${adapter.name}" is ${adapter.status}; it can be called once it is ready (commit the upload).`,
        'model',
      );
    return {
      target: {
        kind: 'adapter',
        base_model: baseRef,
        adapter: adapterRef(adapter),
        merge: null,
      },
      routingKey: adapter.id,
    };
  }
  const [merge] = await db
    .select()
    .from(merges)
    .where(and(eq(merges.tenantId, tenantId), eq(merges.baseModelId, base.id), or(eq(merges.name, name), eq(merges.id, name))));
  if (!merge) throw unknownModel(model, `no ${task ? 'merge' : 'adapter or merge'} "${name}" of base model "${baseName}"`);
  if (merge.status !== 'succeeded')
    throw new ApiError(409, 'model_not_ready', `Merge "${merge.name}" is ${merge.status}; it can be called once it succeeded.`, 'model');
  const mergeRef = { id: merge.id, name: merge.name, method: merge.method, storage_prefix: merge.outputPrefix };
  if (!task) return { target: { kind: 'merge', base_model: baseRef, adapter: null, merge: mergeRef }, routingKey: merge.id };
  if (!isReversibleMerge(merge.method))
    throw new ApiError(
      400,
      'merge_not_reversible',
      `Merge "${merge.name}" (${merge.method}) collapsed its members into one adapter and keeps no task; call "${baseName}:${merge.name}", or merge with ${REVERSIBLE_MERGE_METHODS.join(', ')} to call each task.`,
      'model',
    );

  const member = await findMemberTask(db, merge.id, task);
  if (!member) throw unknownModel(model, `merge "${merge.name}" has no member task "${task}"`);
  // A reverted task is rebuilt from the merge's artifact, so it routes with the merge to stay on warm backends.
  return {
    target: {
      kind: 'merge_task',
      base_model: baseRef,
      adapter: adapterRef(member),
      merge: mergeRef,
    },
    routingKey: merge.id,
  };
}

type MixEntry = { name: string; weight: number };

/**
 * `"model": "<base>"` with `"adapters": [{name, weight}, …]`: each name resolved as a single adapter would be (404
 * unknown, 409 not ready), all of the base in `model`, their ranks together at most `maxRank`.
 */
export async function resolveMix(db: Db, tenantId: string, model: string, mix: MixEntry[], maxRank: number): Promise<Resolved> {
  const m = MODEL.exec(model);
  if (m?.[2])
    throw new ApiError(
      400,
      'model_and_adapters',
      `"model" names "${model}" and "adapters" lists adapters to mix; choose one: "model": "${m[1]}" with "adapters", or "model": "${model}" without "adapters".`,
      'adapters',
    );
  const { target, routingKey } = await resolveModel(db, tenantId, model);
  const refs = mix.map((e) => e.name);
  const names = refs.map((r) => parseAdapterRef(r, 'adapters').name);
  const found = await db
    .select()
    .from(adapters)
    .where(and(eq(adapters.tenantId, tenantId), or(inArray(adapters.name, names), inArray(adapters.id, refs))));
  const baseNames = new Map((await db.select().from(baseModels).where(eq(baseModels.tenantId, tenantId))).map((b) => [b.id, b.name]));
  const entries = mix.map(({ name, weight }) => {
    const adapter = found.find((a) => matchesAdapterRef(a, name));
    if (!adapter)
      throw new ApiError(
        404,
        'model_not_found',
        `"adapters" names "${name}", which is no adapter of yours; GET /v1/models lists the adapters you can call.`,
        'adapters',
      );
    if (adapter.baseModelId !== target.base_model.id)
      throw new ApiError(
        400,
        'base_model_mismatch',
        `Adapter "${adapter.name}" was made for base model "${baseNames.get(adapter.baseModelId)}", not "${target.base_model.name}"; mix adapters of the base model in "model".`,
        'adapters',
      );
    if (adapter.status !== 'ready')
      throw new ApiError(
        409,
        'model_not_ready',
        `Adapter "${adapter.name}" is ${adapter.status}; it can be mixed once it is ready (commit the upload).`,
        'adapters',
      );
    return { ...adapterRef(adapter), weight };
  });
  const totalRank = entries.reduce((s, e) => s + (e.rank ?? 0), 0);
  if (totalRank > maxRank)
    throw new ApiError(
      400,
      'mix_rank_too_large',
      `The adapters' ranks add up to ${totalRank} (${entries.map((e) => `${e.name}: ${e.rank}`).join(', ')}); a mix may total at most ${maxRank}. Mix fewer or lower-rank adapters.`,
      'adapters',
    );
  // Routed on the first adapter's id (with the base's variant, as resolveModel does): the backend that serves that
  // adapter alone has it loaded already, and mixes led by the same adapter meet on the same backends and share
  // their cached combined factors there; hashing the whole set would spread every mix to a cold backend.
  const variant = routingKey.slice(target.base_model.id.length);
  return { target: { ...target, kind: 'mix', mix: entries }, routingKey: `${entries[0].id}${variant}` };
}
