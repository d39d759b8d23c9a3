import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import committed from '../../openapi.yaml?raw';
import { createApp } from '../../edge/app.ts';
import { openApiDocument, openApiYaml } from '../../edge/openapi.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

describe('openapi.yaml', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await validate(parse(committed));
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(parse(committed).openapi).toBe('3.1.0');
  });

  it('is exactly what the zod schemas and routes generate (run `npm run openapi` after changing them)', () => {
    expect(committed).toBe(openApiYaml());
  });

  it('lists every route the app serves, and no other', () => {
    const served = createApp()
      .routes.filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replaceAll(/:([^/]+)/g, '{$1}')}`);
    const documented = Object.entries(openApiDocument().paths ?? {}).flatMap(([path, item]) =>
      METHODS.filter((m) => item && m in item).map((m) => `${m} ${path}`),
    );
    expect([...new Set(served)].sort()).toEqual(documented.sort());
  });
});
