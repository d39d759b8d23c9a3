#!/usr/bin/env node
// The CLI is written in TypeScript; tsx's loader lets the published bin run it without a build step.
// `parity` is the operator's command and runs the engine (gpu-backend/cli); `demo` is the guided tour (demo/,
// which builds its datasets with the default model's task generators); every other command is the API client
// in cli/, which loads nothing of the backend.
import { register } from 'tsx/esm/api';
register();
const argv = process.argv.slice(2);
const entries = new Map([
  ['parity', '../gpu-backend/cli/main.ts'],
  ['demo', '../demo/main.ts'],
]);
const entry = entries.get(argv[0]) ?? '../cli/main.ts';
const { main } = await import(entry);
process.exitCode = await main(argv);
