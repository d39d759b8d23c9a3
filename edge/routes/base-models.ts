/** Base models: Hugging Face checkpoints already in the bucket, registered once their config.json checks out. */
import { createRoute } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { maxContext, parseModelConfig } from '../../contracts/formats/hf-config.ts';
import {
  chatTemplateSyntaxError,
  MAX_TOKENIZER_CONFIG_BYTES,
  templateProblem,
  tokenizerConfigProblem,
} from '../../contracts/formats/tokenizer-problems.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { adapters, baseModels, fineTuningJobs, merges, quantizations } from '../../schema/index.ts';
import { requireApiKey } from '../auth/middleware.ts';
import { forgetModels } from '../request-caches.ts';
import { ApiError } from '../errors.ts';
import { newId, nowS } from '../ids.ts';
import { findBaseModel } from '../lookups.ts';
import { tenantPage } from '../pagination.ts';
import { BaseModel, BaseModelList, CreateBaseModelRequest } from '../schemas/base-models.ts';
import { Deleted, IdParam, ListQuery } from '../schemas/common.ts';
import { conflictError, commonErrors, jsonBody, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

const MAX_CONFIG_BYTES = 1024 * 1024;

type Row = typeof baseModels.$inferSelect;

export function baseModelObject(r: Row) {
  return {
    id: r.id,
    object: 'base_model' as const,
    name: r.name,
    storage_prefix: r.storagePrefix,
    family: r.family as 'llama' | 'mistral' | 'qwen2',
    num_layers: r.numLayers,
    hidden_size: r.hiddenSize,
    vocab_size: r.vocabSize,
    context_length: r.contextLength,
    created_at: r.createdAt,
  };
}

const route = { security: tenantSecurity, middleware: [requireApiKey], tags: ['base models'] };

/**
 * tokenizer_config.json, where there is one, is JSON and its chat template parses: refused now rather than at every
 * request. The edge does not run the tokenizer (tokenizer.json, a template's rendering): the backend checks those
 * when it loads the model.
 */
async function checkTokenizerConfig(store: ObjectStore, prefix: string): Promise<void> {
  const key = `${prefix}tokenizer_config.json`;
  const info = await store.head(key);
  if (!info) return;
  if (info.size > MAX_TOKENIZER_CONFIG_BYTES)
    throw tokenizerConfigProblem(
      `is ${info.size} bytes, more than the ${MAX_TOKENIZER_CONFIG_BYTES} bytes a tokenizer_config.json may take`,
    );
  let config: unknown;
  try {
    config = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode((await store.getBytes(key)) ?? new Uint8Array()),
    );
  } catch (err) {
    throw tokenizerConfigProblem(`is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  const template = (config as { chat_template?: unknown } | null)?.chat_template;
  const syntax = typeof template === 'string' ? chatTemplateSyntaxError(template) : null;
  if (syntax !== null) throw templateProblem(`has a syntax error (${syntax})`);
}

export const baseModelRoutes = router()
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/base-models',
      summary:
        'Register a base model whose Hugging Face files are in the bucket; its config.json and tokenizer_config.json (with the chat template) are read and checked',
      request: jsonBody(CreateBaseModelRequest),
      responses: { 201: jsonResponse(BaseModel, 'The registered base model.'), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const { name, storage_prefix } = c.req.valid('json');
      const { db, store, tenantId } = c.var;
      const [taken] = await db
        .select({ id: baseModels.id })
        .from(baseModels)
        .where(and(eq(baseModels.tenantId, tenantId), eq(baseModels.name, name)));
      if (taken)
        throw new ApiError(
          409,
          'name_taken',
          `You already have a base model named "${name}" (${taken.id}); choose another name or delete that one.`,
          'name',
        );

      const configInfo = await store.head(`${storage_prefix}config.json`);
      if (!configInfo) {
        throw new ApiError(
          400,
          'base_model_files_missing',
          `No config.json under "${storage_prefix}" in bucket "${store.bucket}"; upload the Hugging Face checkpoint files there first.`,
          'storage_prefix',
        );
      }
      if (configInfo.size > MAX_CONFIG_BYTES)
        throw new ApiError(
          400,
          'bad_model_config',
          `config.json is ${configInfo.size} bytes; a Hugging Face config is far below ${MAX_CONFIG_BYTES}.`,
          'storage_prefix',
        );
      const bytes = (await store.getBytes(`${storage_prefix}config.json`)) ?? new Uint8Array();
      let configJson: Record<string, unknown>;
      try {
        configJson = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
      } catch {
        throw new ApiError(400, 'bad_model_config', `config.json under "${storage_prefix}" is not valid UTF-8 JSON.`, 'storage_prefix');
      }
      const config = parseModelConfig(configJson);
      const [single, index] = await Promise.all([
        store.head(`${storage_prefix}model.safetensors`),
        store.head(`${storage_prefix}model.safetensors.index.json`),
      ]);
      if (!single && !index) {
        throw new ApiError(
          400,
          'base_model_files_missing',
          `No model.safetensors or model.safetensors.index.json under "${storage_prefix}"; upload the weights there (safetensors format).`,
          'storage_prefix',
        );
      }
      await checkTokenizerConfig(store, storage_prefix);
      const row: Row = {
        id: newId('bm'),
        tenantId,
        name,
        storagePrefix: storage_prefix,
        family: config.family,
        numLayers: config.numLayers,
        hiddenSize: config.hiddenSize,
        vocabSize: config.vocabSize,
        contextLength: maxContext(config),
        configJson,
        createdAt: nowS(),
      };
      await db.insert(baseModels).values(row);
      return reply(c, BaseModel, baseModelObject(row), 201);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/base-models',
      summary: 'List your base models, newest first',
      request: { query: ListQuery },
      responses: { 200: jsonResponse(BaseModelList, 'A page of base models.'), ...commonErrors },
    }),
    async (c) => {
      const listed = await tenantPage(c.var.db, baseModels, c.var.tenantId, c.req.valid('query'));
      return reply(c, BaseModelList, { ...listed, data: listed.data.map(baseModelObject) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/base-models/{id}',
      summary: 'Get one base model (by id or name)',
      request: { params: IdParam },
      responses: { 200: jsonResponse(BaseModel, 'The base model.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => reply(c, BaseModel, baseModelObject(await findBaseModel(c.var.db, c.var.tenantId, c.req.valid('param').id)), 200),
  )
  .openapi(
    createRoute({
      ...route,
      method: 'delete',
      path: '/v1/base-models/{id}',
      summary: 'Delete a base model that no adapter, job or merge uses (its files stay in the bucket)',
      request: { params: IdParam },
      responses: { 200: jsonResponse(Deleted, 'Deleted.'), ...commonErrors, ...notFoundError, ...conflictError },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const row = await findBaseModel(db, tenantId, c.req.valid('param').id);
      for (const [what, table] of [
        ['adapters', adapters],
        ['fine-tuning jobs', fineTuningJobs],
        ['merges', merges],
        ['quantizations', quantizations],
      ] as const) {
        const [user] = await db.select({ id: table.id }).from(table).where(eq(table.baseModelId, row.id)).limit(1);
        if (user)
          throw new ApiError(
            409,
            'base_model_in_use',
            `Base model "${row.name}" is used by ${what} (e.g. ${user.id}); delete those first.`,
            'id',
          );
      }
      await db.delete(baseModels).where(eq(baseModels.id, row.id));
      forgetModels(c.env, tenantId);
      return reply(c, Deleted, { id: row.id, object: 'base_model', deleted: true }, 200);
    },
  );
