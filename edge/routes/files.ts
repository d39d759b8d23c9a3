/** Datasets for fine-tuning: JSONL, checked line by line with the trainer's own parser before it is stored. */
import { createRoute } from '@hono/zod-openapi';
import { eq, or } from 'drizzle-orm';
import { bodyLimit } from 'hono/body-limit';
import { describeErrors, parseDataset } from '../../contracts/formats/dataset.ts';
import { files, fineTuningJobs } from '../../schema/index.ts';
import { requireApiKey } from '../auth/middleware.ts';
import { ApiError, errorResponse } from '../errors.ts';
import { newId, nowS } from '../ids.ts';
import { findFile } from '../lookups.ts';
import { tenantPage } from '../pagination.ts';
import { Deleted, IdParam, ListQuery } from '../schemas/common.ts';
import { FileList, FileObject, UploadFileForm } from '../schemas/files.ts';
import { tenantPrefix } from '../store.ts';
import { commonErrors, conflictError, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

/** Whole files are parsed in the Worker's memory (128 MB), so they are kept well below it. */
export const MAX_DATASET_BYTES = 32 * 1024 * 1024;

type Row = typeof files.$inferSelect;

function fileObject(f: Row) {
  return {
    id: f.id,
    object: 'file' as const,
    bytes: f.bytes,
    created_at: f.createdAt,
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed' as const,
    examples: f.examples,
  };
}

const route = { security: tenantSecurity, tags: ['files'] };

const tooLarge = () =>
  new ApiError(413, 'body_too_large', `Datasets are limited to ${MAX_DATASET_BYTES} bytes; split the file or sample it down.`);

const datasetLimit = bodyLimit({
  maxSize: MAX_DATASET_BYTES + 64 * 1024,
  onError: (c) => errorResponse(c, tooLarge()),
});

export const fileRoutes = router()
  .openapi(
    createRoute({
      ...route,
      middleware: [requireApiKey, datasetLimit],
      method: 'post',
      path: '/v1/files',
      summary: 'Upload a JSONL dataset; every line is checked before the file is accepted',
      request: { body: { required: true, content: { 'multipart/form-data': { schema: UploadFileForm } } } },
      responses: { 201: jsonResponse(FileObject, 'The stored file.'), ...commonErrors },
    }),
    async (c) => {
      const { file } = c.req.valid('form');
      const { db, store, tenantId } = c.var;
      if (file.size > MAX_DATASET_BYTES) throw tooLarge();
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(await file.arrayBuffer());
      } catch {
        throw new ApiError(400, 'invalid_dataset', `${file.name} is not UTF-8 text; save it as UTF-8 JSONL.`, 'file');
      }
      const parsed = parseDataset(text);
      if (parsed.errorCount > 0) {
        throw new ApiError(
          400,
          'invalid_dataset',
          `${file.name} has ${parsed.errorCount} bad line${parsed.errorCount > 1 ? 's' : ''}: ${describeErrors(parsed.errors, parsed.errorCount)}. Each line must be {"prompt": ..., "completion": ...} or {"messages": [...]}.`,
          'file',
        );
      }
      if (parsed.examples.length === 0)
        throw new ApiError(400, 'invalid_dataset', `${file.name} has no examples; put one JSON object per line.`, 'file');
      const id = newId('file');
      const row: Row = {
        id,
        tenantId,
        filename: file.name,
        purpose: 'fine-tune',
        bytes: file.size,
        examples: parsed.examples.length,
        storageKey: `${tenantPrefix(tenantId)}files/${id}.jsonl`,
        createdAt: nowS(),
      };
      // The object first, then the row: a failure in between leaves an unreferenced object, never a row without data.
      await store.put(row.storageKey, new Uint8Array(await file.arrayBuffer()), { contentType: 'application/jsonl' });
      await db.insert(files).values(row);
      return reply(c, FileObject, fileObject(row), 201);
    },
  )
  .openapi(
    createRoute({
      ...route,
      middleware: [requireApiKey],
      method: 'get',
      path: '/v1/files',
      summary: 'List your files, newest first',
      request: { query: ListQuery },
      responses: { 200: jsonResponse(FileList, 'A page of files.'), ...commonErrors },
    }),
    async (c) => {
      const listed = await tenantPage(c.var.db, files, c.var.tenantId, c.req.valid('query'));
      return reply(c, FileList, { ...listed, data: listed.data.map(fileObject) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      middleware: [requireApiKey],
      method: 'get',
      path: '/v1/files/{id}',
      summary: 'Get one file',
      request: { params: IdParam },
      responses: { 200: jsonResponse(FileObject, 'The file.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => reply(c, FileObject, fileObject(await findFile(c.var.db, c.var.tenantId, c.req.valid('param').id)), 200),
  )
  .openapi(
    createRoute({
      ...route,
      middleware: [requireApiKey],
      method: 'delete',
      path: '/v1/files/{id}',
      summary: 'Delete a file no fine-tuning job uses',
      request: { params: IdParam },
      responses: { 200: jsonResponse(Deleted, 'Deleted.'), ...commonErrors, ...notFoundError, ...conflictError },
    }),
    async (c) => {
      const { db, store, tenantId } = c.var;
      const f = await findFile(db, tenantId, c.req.valid('param').id);
      const [job] = await db
        .select({ id: fineTuningJobs.id })
        .from(fineTuningJobs)
        .where(or(eq(fineTuningJobs.trainingFileId, f.id), eq(fineTuningJobs.validationFileId, f.id)))
        .limit(1);
      if (job)
        throw new ApiError(
          409,
          'file_in_use',
          `File ${f.id} is used by fine-tuning job ${job.id}; it is kept for that job's record.`,
          'id',
        );
      await db.delete(files).where(eq(files.id, f.id));
      await store.delete([f.storageKey]);
      return reply(c, Deleted, { id: f.id, object: 'file', deleted: true }, 200);
    },
  );
