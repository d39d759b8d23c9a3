/**
 * Writes cli/api-types.ts, the public API's types, from openapi.yaml (`npm run openapi` runs it after writing
 * the spec), so the CLI's requests and answers are checked against the contract instead of a second copy of it.
 * tests/cli/api-types.test.ts fails when the committed file no longer matches the spec.
 *
 *   node --import tsx cli/generate-api-types.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

export const SPEC = fileURLToPath(new URL('../openapi.yaml', import.meta.url));
export const TYPES = fileURLToPath(new URL('./api-types.ts', import.meta.url));

const HEADER = '// Generated from openapi.yaml by cli/generate-api-types.ts (`npm run openapi`); do not edit.\n\n';

export async function apiTypesSource(specYaml: string): Promise<string> {
  // A field with a default may be left out of a request, so it stays optional in the types.
  return HEADER + astToString(await openapiTS(specYaml, { defaultNonNullable: false }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(TYPES, await apiTypesSource(await readFile(SPEC, 'utf8')));
  console.log(`wrote ${TYPES}`);
}
