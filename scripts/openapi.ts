/**
 * Writes openapi.yaml from the edge's routes and zod schemas (`npm run openapi`). The file is committed so
 * people can read the contract; tests/edge/openapi.test.ts fails when it no longer matches the code.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// Imported by URL so the Node type-check (root tsconfig) does not pull in the edge, which is checked
// against the Workers runtime's types by edge/tsconfig.json instead.
const generator = new URL('../edge/openapi.ts', import.meta.url).href;
const { openApiYaml } = (await import(generator)) as { openApiYaml: () => string };

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url));
await writeFile(target, openApiYaml());
console.log(`wrote ${target}`);
