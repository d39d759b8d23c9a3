/**
 * The headless Chromium the browser tests drive through playwright-core, which downloads no browser itself.
 * By default it is the build shipped inside the npm package @sparticuz/chromium, so `npm ci` is all a machine
 * needs; CHROMIUM_PATH names another binary instead (Debian's `chromium`, say). A browser that cannot start is
 * an error that says why and what to do: the browser tests fail, never skip.
 */
import { existsSync } from 'node:fs';
import sparticuz from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';

const SPARTICUZ = '@sparticuz/chromium';

/** Where the browser comes from and the flags it needs there. */
async function browserBinary(): Promise<{ executablePath: string; args: string[]; source: string }> {
  const named = process.env.CHROMIUM_PATH;
  if (named) {
    if (!existsSync(named))
      throw new Error(`CHROMIUM_PATH=${named} does not exist: point it at a Chromium binary, or unset it to use @sparticuz/chromium.`);
    // --no-sandbox: sessions and CI run as root, where Chromium's sandbox refuses to start.
    return { executablePath: named, args: ['--no-sandbox'], source: `CHROMIUM_PATH=${named}` };
  }
  try {
    // Unpacks the brotli-compressed build into the temp folder on first use (about a second), then reuses it.
    return { executablePath: await sparticuz.executablePath(), args: sparticuz.args, source: SPARTICUZ };
  } catch (err) {
    throw new Error(
      `Could not unpack @sparticuz/chromium (${(err as Error).message}): run \`npm ci\` again, or set CHROMIUM_PATH to a Chromium binary.`,
      { cause: err },
    );
  }
}

/** Launches headless Chromium, or throws an error that names the browser tried and why it did not start. */
export async function launchChromium(): Promise<Browser> {
  const { executablePath, args, source } = await browserBinary();
  try {
    return await chromium.launch({ executablePath, args, headless: true });
  } catch (err) {
    const other =
      'set CHROMIUM_PATH to another Chromium binary (Debian: `apt-get install -y chromium`, then CHROMIUM_PATH=/usr/bin/chromium).';
    // The package unpacks into the temp folder once and then reuses whatever is there, even a file cut short.
    const fix =
      source === SPARTICUZ
        ? `If an earlier run stopped while unpacking it, delete ${executablePath} and run again, or ${other}`
        : `Check it runs, or ${other}`;
    throw new Error(
      `Chromium (${source}, ${executablePath}) did not start: ${(err as Error).message.split('\n')[0]} (the cause below has the browser's log)\n${fix}`,
      { cause: err },
    );
  }
}
