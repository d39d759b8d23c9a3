/**
 * Where a process' resident memory is, from /proc/<pid>/smaps: anonymous (heaps, onnxruntime's arena and its
 * pre-packed weights) apart from file-backed (mapped weights, the binaries), and the file-backed part per file.
 * A mapped weights file's pages are clean page cache the kernel can drop, but RSS counts them while mapped.
 */
import { readFile } from 'node:fs/promises';

export interface SmapsBreakdown {
  anonMb: number;
  fileMb: number;
  /** Resident MB per mapped file (the basename; a deleted file keeps its " (deleted)"), largest first. */
  files: [string, number][];
}

export async function smapsBreakdown(pid: number | 'self' = 'self'): Promise<SmapsBreakdown> {
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8');
  let name = '';
  let anon = 0;
  let file = 0;
  const byFile = new Map<string, number>();
  for (const line of text.split('\n')) {
    // A mapping's header: "start-end perms offset dev inode [path]".
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      name = header[1] !== '0' ? header[2] : '';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const mb = Number(rss[1]) / 1024;
    if (!name) anon += mb;
    else {
      file += mb;
      const base = name.slice(name.lastIndexOf('/') + 1);
      byFile.set(base, (byFile.get(base) ?? 0) + mb);
    }
  }
  return { anonMb: anon, fileMb: file, files: [...byFile].sort((a, b) => b[1] - a[1]) };
}

/** One line: anonymous and file-backed MB, and the `top` largest files. */
export function describeSmaps(s: SmapsBreakdown, top = 4): string {
  const files = s.files
    .slice(0, top)
    .map(([f, mb]) => `${f} ${mb.toFixed(0)}`)
    .join(', ');
  return `anon ${s.anonMb.toFixed(0)} MB, file ${s.fileMb.toFixed(0)} MB (${files})`;
}
