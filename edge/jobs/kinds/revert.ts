/** Revert: one member task of a reversible merge rebuilt from its basis and published as an adapter of its own. */
import { eq } from 'drizzle-orm';
import { mergeReverts, merges } from '../../../schema/index.ts';
import { asJobTable, type JobKindDefinition } from '../kind.ts';
import { baseOf, checkedResult, completeWithAdapter } from '../outputs.ts';
import { adapterById, adapterRef, baseRef, leaseRef, mergeMembersOf } from '../spec-refs.ts';

export const revertKind: JobKindDefinition<'revert'> = {
  kind: 'revert',
  table: asJobTable(mergeReverts),
  async spec(db, id) {
    const [r] = await db.select().from(mergeReverts).where(eq(mergeReverts.id, id));
    if (!r) return null;
    const [m] = await db.select().from(merges).where(eq(merges.id, r.mergeId));
    return {
      kind: 'revert',
      ...leaseRef(r),
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
  },
  async complete(ctx) {
    checkedResult(null, 'revert', ctx.done.result);
    const [r] = await ctx.db.select().from(mergeReverts).where(eq(mergeReverts.id, ctx.id));
    const [m] = await ctx.db.select().from(merges).where(eq(merges.id, r.mergeId));
    const produced = {
      tenantId: r.tenantId,
      base: await baseOf(ctx.db, m.baseModelId),
      name: r.name,
      source: 'revert' as const,
      sourceId: m.id,
      outputPrefix: r.outputPrefix,
    };
    await completeWithAdapter(ctx, 'revert', this.table, produced, { published: true });
  },
};
