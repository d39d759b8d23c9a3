/**
 * Writes openapi.yaml from the edge's routes and zod schemas (`npm run openapi`), and README.md's merge method table. The file is committed so
 * people can read the contract; tests/edge/openapi.test.ts fails when it no longer matches the code.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { withMethodTable } from '../contracts/api/merge-methods-doc.ts';

// Imported by URL so the Node type-check (root tsconfig) does not pull in the edge, which is checked
// against the Workers runtime's types by edge/tsconfig.json instead.
const generator = new URL('../edge/openapi.ts', import.meta.url).href;
const { openApiYaml } = (await import(generator)) as { openApiYaml: () => string };

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url));
await writeFile(target, openApiYaml());
console.log(`wrote ${target}`);

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
await writeFile(readme, withMethodTable(await readFile(readme, 'utf8')));
console.log(`wrote the merge method table of ${readme}`);
