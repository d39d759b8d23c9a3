/**
 * What a process costs, read from Linux /proc: resident memory, and CPU time (user + system, its threads
 * included, plus that of children it has waited for) of a process or of a whole process group, such as
 * `wrangler dev` with the workerd it starts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** A memory line of this process' /proc/self/status in MB (its values are in kB); VmHWM is the peak RSS. */
export function selfStatusMb(key: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key}:`));
  if (!line) throw new Error(`/proc/self/status has no ${key}`);
  return Number.parseInt(line.slice(key.length + 1), 10) / 1024;
}

/** A memory line of a process' /proc/<pid>/status in MB (NaN where it has none). */
export async function statusMb(pid: number, key: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Resident memory of a process, in MB. */
export const rssMb = (pid: number): Promise<number> => statusMb(pid, 'VmRSS');

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): [state, ppid, pgrp, …]. */
async function statFields(pid: number): Promise<string[] | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU milliseconds of /proc/<path>/stat's own utime + stime (`self`, or one thread: `self/task/<tid>`), read at once. */
export function ownCpuMs(path: string): number {
  const stat = readFileSync(`/proc/${path}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
}

/** CPU milliseconds a process has used (utime + stime + cutime + cstime); 0 once it is gone. */
export async function cpuMs(pid: number): Promise<number> {
  const f = await statFields(pid);
  if (!f) return 0;
  // Fields 14–17 of stat, counted from 1 with the pid and the name as 1 and 2.
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return (ticks * 1000) / TICKS_PER_S;
}

async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
}

/** The processes whose command line contains every one of `parts` (as separate arguments). */
export async function findProcesses(parts: string[]): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await allPids()) {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (parts.every((p) => args.some((a) => a === p || a.endsWith(`/${p}`)))) found.push(pid);
  }
  return found;
}

/** The live processes in the process group of `pid` (itself included): a walk over every process on the machine. */
export async function groupOf(pid: number): Promise<number[]> {
  const group = (await statFields(pid))?.[2];
  if (group === undefined) return [];
  const members: number[] = [];
  for (const p of await allPids()) if ((await statFields(p))?.[2] === group) members.push(p);
  return members;
}

/** Resident memory of the process group of `pid`, in MB: a process with the children it starts. */
export async function groupRssMb(pid: number): Promise<number> {
  let sum = 0;
  // A zombie member (exited, not yet reaped) has no VmRSS: it counts as 0, not NaN.
  for (const p of await groupOf(pid)) sum += (await rssMb(p).catch(() => 0)) || 0;
  return sum;
}

/** CPU milliseconds used by the live processes in the process group of `pid` (itself included), by command name. */
export async function groupCpuMs(pid: number): Promise<Record<string, number>> {
  const byName: Record<string, number> = {};
  for (const p of await groupOf(pid)) {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    byName[name] = (byName[name] ?? 0) + (await cpuMs(p));
  }
  return byName;
}
