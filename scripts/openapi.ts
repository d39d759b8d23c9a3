/**
 * Writes openapi.yaml from the edge's routes and zod schemas (`npm run openapi`). The file is committed so
 * people can read the contract; tests/edge/openapi.test.ts fails when it no longer matches the code.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openApiYaml } from '../edge/openapi.ts';

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url));
await writeFile(target, openApiYaml());
console.log(`wrote ${target}`);
