import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import committed from '../../openapi.yaml?raw';
import { createApp } from '../../edge/app.ts';
import { openApiDocument, openApiYaml } from '../../edge/openapi.ts';
import { CONSOLE_PATH } from '../../edge/console/routes.ts';

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
    // The web console's page and assets are not API: they are left out of the document on purpose.
    const isConsole = (path: string) => path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
    const served = createApp()
      .routes.filter((r) => r.method !== 'ALL' && !isConsole(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replaceAll(/:([^/]+)/g, '{$1}')}`);
    const documented = Object.entries(openApiDocument().paths ?? {}).flatMap(([path, item]) =>
      METHODS.filter((m) => item && m in item).map((m) => `${m} ${path}`),
    );
    expect([...new Set(served)].sort()).toEqual(documented.sort());
    expect(createApp().routes.some((r) => isConsole(r.path))).toBe(true);
    expect(Object.keys(openApiDocument().paths ?? {}).filter(isConsole)).toEqual([]);
  });
});
