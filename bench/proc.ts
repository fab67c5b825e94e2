import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Reads a server's CPU and memory from /proc (Linux), as its WHOLE process tree: the rfs node
 * process plus every process it started (the embedded PostgreSQL's postmaster, its backends
 * and helpers), found by walking the ppid of every /proc/<pid>/stat.
 *
 * CPU: utime+stime (every thread) of each live process of the tree, plus its cutime+cstime:
 * the CPU of its children that exited and were reaped (a PostgreSQL backend that ends goes to
 * the postmaster's cutime, the postmaster to rfs's). So a process that exits during a phase
 * is not lost and nothing is counted twice; a phase's CPU is the difference of two readings.
 * Memory: PSS (proportional set size) from /proc/<pid>/smaps_rollup, summed over the tree:
 * PostgreSQL's processes share shared_buffers and their code, which RSS would count in each.
 */

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 nearly everywhere). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface MemoryStatus {
  rssBytes: number;
  hwmBytes: number;
}

/** VmRSS and VmHWM of one process. */
export function readMemory(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: kib('VmRSS'), hwmBytes: kib('VmHWM') };
}

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, seconds: the process's own threads. */
  cpuSeconds: number;
  /** cutime + cstime, seconds: its reaped children. */
  childCpuSeconds: number;
}

/** /proc/<pid>/stat, or undefined when the process is gone. `path` may name a thread
 * (/proc/<pid>/task/<tid>/stat). */
export function readStat(pid: number, path = `/proc/${pid}/stat`): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const t = ticksPerSecond();
  return {
    pid,
    comm: stat.slice(stat.indexOf('(') + 1, close),
    ppid: Number(fields[1]), // field 4
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / t, // fields 14, 15
    childCpuSeconds: (Number(fields[13]) + Number(fields[14])) / t, // fields 16, 17
  };
}

/** `root` and every live descendant, root first (one pass over /proc). */
export function processTree(root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  let rootStat: ProcStat | undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (!s) continue;
    if (s.pid === root) rootStat = s;
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  if (!rootStat) return [];
  const tree = [rootStat];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i].pid) ?? []));
  return tree;
}

/** CPU of a process tree so far, split into the root process (rfs) and the rest. */
export interface TreeCpu {
  /** The root's own threads (rfs: main thread, libuv pool, hash workers, GC). */
  rootSeconds: number;
  /** Every descendant, live or reaped (the embedded PostgreSQL's processes). */
  childrenSeconds: number;
  processes: number;
}

export function readTreeCpu(root: number): TreeCpu {
  const tree = processTree(root);
  let childrenSeconds = 0;
  for (const s of tree) childrenSeconds += s.childCpuSeconds + (s.pid === root ? 0 : s.cpuSeconds);
  return { rootSeconds: tree[0]?.cpuSeconds ?? 0, childrenSeconds, processes: tree.length };
}

/** PSS of one process from smaps_rollup (0 when gone or unreadable). */
function pssOf(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface TreeMemory {
  /** PSS of the root process. */
  rootPssBytes: number;
  /** PSS of its descendants, summed. */
  childrenPssBytes: number;
  processes: number;
}

export const totalPss = (m: TreeMemory): number => m.rootPssBytes + m.childrenPssBytes;

export function readTreeMemory(root: number): TreeMemory {
  const tree = processTree(root);
  let childrenPssBytes = 0;
  for (const s of tree.slice(1)) childrenPssBytes += pssOf(s.pid);
  return { rootPssBytes: tree.length ? pssOf(root) : 0, childrenPssBytes, processes: tree.length };
}

/** CPU seconds of each thread of a process so far, by thread id (the main thread's is the pid). */
export function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const s = readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`);
    if (s) out.set(Number(tid), s.cpuSeconds);
  }
  return out;
}

/** The whole machine's CPU time so far (/proc/stat, all cores): busy (everything but idle
 * and iowait) and total, in seconds. Tells a phase's waiting from the machine's other load. */
export function readMachineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4];
  return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false when not permitted. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface PhaseUsage {
  wallSeconds: number;
  /** Server CPU seconds during the phase: the whole tree (rfs + its PostgreSQL). */
  serverCpuSeconds: number;
  /** Of which the rfs process's own threads. */
  rfsCpuSeconds: number;
  /** Of which its descendants (the embedded PostgreSQL), exited ones included. */
  childCpuSeconds: number;
  /** Bench-process CPU seconds during the phase (data generation, MD5, HTTP). */
  clientCpuSeconds: number;
  /** The whole machine during the phase: CPU seconds busy, and available (wall × cores). */
  machineBusySeconds: number;
  machineSeconds: number;
  /** The rfs process's peak RSS during the phase: VmHWM after a reset at the phase start (when
   * permitted), and at least the highest VmRSS sampled. */
  peakRssBytes: number;
  /** RSS of the rfs process at the end of the phase. */
  endRssBytes: number;
  /** Whether VmHWM could be reset at the start (else the peak is sampled only, or since start). */
  hwmReset: boolean;
  /** The tree's PSS at the end, and its highest sample (every `pssIntervalMs`, with the start
   * and the end). */
  endPss: TreeMemory;
  peakPssBytes: number;
  /** Processes in the tree at the end. */
  processes: number;
}

export interface MonitorOptions {
  /** How often the tree's PSS is sampled; 0: only at the start and the end. Default 250 ms. */
  pssIntervalMs?: number;
}

/** Measures one phase of the server's work: call `stop()` when the phase ends. */
export class PhaseMonitor {
  private readonly started = process.hrtime.bigint();
  private readonly cpu0: TreeCpu;
  private readonly client0 = process.cpuUsage();
  private readonly machine0 = readMachineCpu();
  private readonly hwmReset: boolean;
  private maxRss = 0;
  private maxPss = 0;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly pid: number, options: MonitorOptions = {}) {
    this.hwmReset = resetPeakRss(pid);
    this.cpu0 = readTreeCpu(pid);
    this.sampleRss();
    this.samplePss();
    this.timers.push(setInterval(() => this.sampleRss(), 50));
    const every = options.pssIntervalMs ?? 250;
    if (every > 0) this.timers.push(setInterval(() => this.samplePss(), every));
  }

  private sampleRss(): void {
    try {
      this.maxRss = Math.max(this.maxRss, readMemory(this.pid).rssBytes);
    } catch {
      // the process is gone; the phase will fail on its own
    }
  }

  private samplePss(): TreeMemory {
    const m = readTreeMemory(this.pid);
    this.maxPss = Math.max(this.maxPss, totalPss(m));
    return m;
  }

  stop(): PhaseUsage {
    for (const t of this.timers) clearInterval(t);
    const wallSeconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    const client = process.cpuUsage(this.client0);
    const machine = readMachineCpu();
    const cpu = readTreeCpu(this.pid);
    const mem = readMemory(this.pid);
    const endPss = this.samplePss();
    const rfs = cpu.rootSeconds - this.cpu0.rootSeconds;
    const children = cpu.childrenSeconds - this.cpu0.childrenSeconds;
    return {
      wallSeconds,
      serverCpuSeconds: rfs + children,
      rfsCpuSeconds: rfs,
      childCpuSeconds: children,
      clientCpuSeconds: (client.user + client.system) / 1e6,
      machineBusySeconds: machine.busy - this.machine0.busy,
      machineSeconds: machine.total - this.machine0.total,
      peakRssBytes: Math.max(this.maxRss, mem.rssBytes, this.hwmReset ? mem.hwmBytes : 0),
      endRssBytes: mem.rssBytes,
      hwmReset: this.hwmReset,
      endPss,
      peakPssBytes: this.maxPss,
      processes: cpu.processes,
    };
  }
}
