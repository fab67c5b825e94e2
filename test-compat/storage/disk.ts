import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';

/** Bytes and files under a directory, as `du` would count the chunk store. */
export async function dirUsage(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return { bytes, files };
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const sub = await dirUsage(p);
      bytes += sub.bytes;
      files += sub.files;
    } else if (e.isFile()) {
      bytes += (await stat(p)).size;
      files++;
    }
  }
  return { bytes, files };
}

/** The server is its whole process tree: a process and its descendants (the embedded
 * PostgreSQL's postmaster and backends), found through /proc's parent links. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The parent pid is the 2nd field after the parenthesised command name.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** Proportional set size summed over a process tree: shared memory (PostgreSQL's shared
 * buffers) counted once, split between the processes that map it. */
export function treePss(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

export const MiB = 1024 * 1024;
