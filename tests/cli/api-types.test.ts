/**
 * The CLI stays a client of the published contract: its types are exactly what openapi.yaml generates, and it
 * imports nothing of the edge or the backend (only contracts/ and packages).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { apiTypesSource, SPEC, TYPES } from '../../cli/generate-api-types.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('cli/api-types.ts', () => {
  test('is exactly what openapi.yaml generates (run `npm run openapi` after changing the API)', async () => {
    expect(await readFile(TYPES, 'utf8')).toBe(await apiTypesSource(await readFile(SPEC, 'utf8')));
  });
});

describe('cli/', () => {
  test('imports no part but contracts/ (it talks to the edge and the backend over HTTP only)', () => {
    const files = readdirSync(join(root, 'cli'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const imports = files.flatMap((f) => {
      const file = join(root, 'cli', f);
      return ts
        .preProcessFile(readFileSync(file, 'utf8'), true, true)
        .importedFiles.map((i) => i.fileName)
        .filter((s) => s.startsWith('.'))
        .map((s) => `${relative(root, file)} imports ${relative(root, resolve(dirname(file), s))}`);
    });
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((line) => !/ imports (cli|contracts)\//.test(line))).toEqual([]);
  });
});
