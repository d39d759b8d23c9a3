#!/usr/bin/env node
// The CLI is written in TypeScript; tsx's loader lets the published bin run it without a build step.
// `parity` is the operator's command and runs the engine (gpu-backend/cli); every other command is the API
// client in cli/, which loads nothing of the backend.
import { register } from 'tsx/esm/api';
register();
const argv = process.argv.slice(2);
const { main } = await import(argv[0] === 'parity' ? '../gpu-backend/cli/main.ts' : '../cli/main.ts');
process.exitCode = await main(argv);
