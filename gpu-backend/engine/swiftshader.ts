/**
 * SwiftShader, Google's Vulkan driver on the CPU, for the WebGPU provider on a machine without a GPU: the driver
 * ships in the npm package @sparticuz/chromium (bin/swiftshader.tar.br: libvk_swiftshader.so and the Vulkan
 * loader libvulkan.so.1), so CI and development machines run the WebGPU code path with nothing but npm.
 * It checks correctness only: SwiftShader says nothing about a GPU's speed.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { extract } from 'tar-fs';

/** glibc's RTLD_NODELETE (node's os.constants.dlopen does not list it). */
const RTLD_NODELETE = 0x1000;
const RTLD_NOW = 2;
const RTLD_GLOBAL = 256;

/** Where the archive is unpacked: one folder per package version, shared by every process of this user. */
async function unpacked(): Promise<string> {
  const pkgDir = dirname(dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium')));
  const { version } = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const dir = join(tmpdir(), `rankgate-swiftshader-${version}`);
  if (existsSync(join(dir, 'rankgate_icd.json'))) return dir;
  // Unpacked into a private folder and renamed into place, so a process never loads a half-written driver
  // while another (a parallel test worker) is still unpacking it.
  await mkdir(tmpdir(), { recursive: true });
  const scratch = await mkdtemp(`${dir}.partial-`);
  await pipeline(createReadStream(join(pkgDir, 'bin', 'swiftshader.tar.br')), createBrotliDecompress(), extract(scratch));
  // The archive's own manifest names the driver relative to itself; an absolute path works from any folder.
  const manifest = { file_format_version: '1.0.0', ICD: { library_path: join(dir, 'libvk_swiftshader.so'), api_version: '1.1.0' } };
  await writeFile(join(scratch, 'rankgate_icd.json'), JSON.stringify(manifest));
  try {
    await rename(scratch, dir);
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    if (!existsSync(join(dir, 'rankgate_icd.json'))) throw err;
  }
  return dir;
}

/**
 * Points this process's Vulkan at SwiftShader; call before the first WebGPU session (Dawn reads the ICD list
 * and loads libvulkan.so.1 when onnxruntime first initialises WebGPU). Returns the driver's folder.
 */
export async function useSwiftShader(): Promise<string> {
  const dir = await unpacked();
  process.env.VK_ICD_FILENAMES = join(dir, 'rankgate_icd.json');
  process.env.VK_DRIVER_FILES = process.env.VK_ICD_FILENAMES;
  // For child processes; this one's dynamic linker read LD_LIBRARY_PATH at start (below).
  process.env.LD_LIBRARY_PATH = [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  // The dynamic linker read LD_LIBRARY_PATH when the process started, so Dawn's dlopen("libvulkan.so.1") would
  // not find the loader in `dir`. Loading it here first, kept resident (NODELETE), makes that dlopen match it by
  // its soname. process.dlopen then throws, the loader being no Node.js addon; that is expected.
  try {
    process.dlopen({ exports: {} }, join(dir, 'libvulkan.so.1'), RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
  } catch (err) {
    if (!/did not self-register/.test(String(err))) throw err;
  }
  return dir;
}
