/** The `rankgate` command line. */
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { parseExecutionProvider, useExecutionProvider } from '../engine/providers.ts';
import { runParity } from './parity.ts';

const USAGE = `usage: rankgate <command>

commands:
  parity <fixture-dir>   compare the engine with transformers + PEFT reference outputs in <fixture-dir>
                         (base/, adapters/*, reference.safetensors, reference.json); exits 0 when all match;
                         runs on EXECUTION_PROVIDER (auto, cuda, webgpu or cpu), as the backend does`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'parity': {
        if (rest.length !== 1) return usage();
        await useExecutionProvider(parseExecutionProvider(process.env.EXECUTION_PROVIDER));
        const report = await runParity(rest[0], (line) => console.log(line));
        console.log(JSON.stringify(report));
        return report.ok ? 0 : 1;
      }
      default:
        return usage();
    }
  } catch (err) {
    if (err instanceof InvalidInputError) {
      console.error(`rankgate: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

function usage(): number {
  console.error(USAGE);
  return 2;
}
