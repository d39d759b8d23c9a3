export * from './tenants.ts';
export * from './base-models.ts';
export * from './adapters.ts';
export * from './files.ts';
export * from './fine-tuning.ts';
export * from './merges.ts';
export * from './compressions.ts';
export * from './backends.ts';
export { BACKEND_JOB_STATUSES, type BackendJobError, type BackendJobStatus } from './columns.ts';
