/** Compression: a ready adapter truncated by SVD and/or quantized, published as a new adapter with what it measured. */
import { eq } from 'drizzle-orm';
import { CompressionResult } from '../../../contracts/api/internal-api.ts';
import { adapters, compressions } from '../../../schema/index.ts';
import { asJobTable, type JobKindDefinition } from '../kind.ts';
import { baseOf, checkedResult, completeWithAdapter } from '../outputs.ts';
import { adapterById, adapterRef, baseRef, leaseRef } from '../spec-refs.ts';

export const compressionKind: JobKindDefinition<'compression'> = {
  kind: 'compression',
  table: asJobTable(compressions),
  async spec(db, id) {
    const [k] = await db.select().from(compressions).where(eq(compressions.id, id));
    if (!k) return null;
    const source = await adapterById(db, k.sourceAdapterId);
    return {
      kind: 'compression',
      ...leaseRef(k),
      base_model: await baseRef(db, source.baseModelId),
      source: adapterRef(source),
      rank: k.rank,
      energy: k.energy,
      budget_bytes: k.budgetBytes,
      bits: k.bits,
    };
  },
  async complete(ctx) {
    const measured = checkedResult(CompressionResult, 'compression', ctx.done.result);
    const [k] = await ctx.db.select().from(compressions).where(eq(compressions.id, ctx.id));
    const [source] = await ctx.db.select().from(adapters).where(eq(adapters.id, k.sourceAdapterId));
    const produced = {
      tenantId: k.tenantId,
      base: await baseOf(ctx.db, source.baseModelId),
      name: k.name,
      source: 'compression' as const,
      sourceId: k.id,
      outputPrefix: k.outputPrefix,
    };
    await completeWithAdapter(ctx, 'compression', this.table, produced, { published: true, finished: { result: measured } });
  },
};
