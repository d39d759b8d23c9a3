/** The tour's narration on stdout: lines, and a heading per step. */
export const say = (line: string) => process.stdout.write(`${line}\n`);
export const heading = (line: string) => say(`\n== ${line}`);
