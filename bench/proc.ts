import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Reads another process's memory and CPU from /proc (Linux): VmRSS (resident now), VmHWM
 * (peak resident, resettable per phase through clear_refs) and utime+stime (CPU time of all
 * its threads: main thread, libuv pool, the metadata worker).
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

export function readMemory(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: kib('VmRSS'), hwmBytes: kib('VmHWM') };
}

/** CPU seconds (user + system, all threads) the process has used so far. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  return (utime + stime) / ticksPerSecond();
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
  /** Server CPU seconds during the phase. */
  serverCpuSeconds: number;
  /** Bench-process CPU seconds during the phase (data generation, MD5, HTTP). */
  clientCpuSeconds: number;
  /** The server's peak RSS during the phase: VmHWM after a reset at the phase start (when
   * permitted), and at least the highest VmRSS sampled every 50 ms. */
  peakRssBytes: number;
  /** RSS at the end of the phase. */
  endRssBytes: number;
  /** Whether VmHWM could be reset at the start (else the peak is sampled only, or since start). */
  hwmReset: boolean;
}

/** Measures one phase of the server's work: call `stop()` when the phase ends. */
export class PhaseMonitor {
  private readonly started = process.hrtime.bigint();
  private readonly cpu0: number;
  private readonly client0 = process.cpuUsage();
  private readonly hwmReset: boolean;
  private maxRss = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.hwmReset = resetPeakRss(pid);
    this.cpu0 = readCpuSeconds(pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
  }

  private sample(): void {
    try {
      this.maxRss = Math.max(this.maxRss, readMemory(this.pid).rssBytes);
    } catch {
      // the process is gone; the phase will fail on its own
    }
  }

  stop(): PhaseUsage {
    clearInterval(this.timer);
    const wallSeconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    const client = process.cpuUsage(this.client0);
    const mem = readMemory(this.pid);
    const peak = Math.max(this.maxRss, mem.rssBytes, this.hwmReset ? mem.hwmBytes : 0);
    return {
      wallSeconds,
      serverCpuSeconds: readCpuSeconds(this.pid) - this.cpu0,
      clientCpuSeconds: (client.user + client.system) / 1e6,
      peakRssBytes: peak,
      endRssBytes: mem.rssBytes,
      hwmReset: this.hwmReset,
    };
  }
}
