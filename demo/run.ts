/** `npm run demo [-- --quick]`: demo/main.ts as a process. */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
