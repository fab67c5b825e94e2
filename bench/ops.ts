import type { S3Http } from './http';
import { PhaseMonitor, type PhaseUsage } from './proc';

/** Many small requests, `concurrency` at a time, timed one by one and watched on the server. */

export interface OpsResult {
  op: string;
  count: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The servers' usage, summed (one server: its own). */
  usage: PhaseUsage;
  /** TCP connections the clients opened during the phase (keep-alive: ~0). */
  connections: number;
  /** Requests the clients sent again after a 500/503, as an SDK does. */
  retries: number;
}

/** Runs `count` operations, `concurrency` at a time, and times each; `pids` are the servers
 * to watch (their whole process trees), `clients` those whose connections and retries count. */
export async function runOps(
  op: string,
  pids: number[],
  clients: S3Http[],
  count: number,
  concurrency: number,
  run: (i: number) => Promise<void>,
  /** Sample the servers' PSS this often for the peak (0: only at the start and end). */
  pssIntervalMs = 0,
): Promise<OpsResult> {
  const latencies = new Float64Array(count);
  let next = 0;
  const before = clients.map((c) => ({ ...c.stats }));
  const monitors = pids.map((pid) => new PhaseMonitor(pid, { pssIntervalMs }));
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      await run(i);
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const usage = sumUsage(monitors.map((m) => m.stop()));
  latencies.sort();
  const pct = (p: number) => latencies[Math.min(count - 1, Math.floor(p * count))];
  const delta = (k: 'connections' | 'retries') => clients.reduce((a, c, i) => a + c.stats[k] - before[i][k], 0);
  return { op, count, opsPerSecond: count / usage.wallSeconds, p50Ms: pct(0.5), p99Ms: pct(0.99), usage, connections: delta('connections'), retries: delta('retries') };
}

/** Several servers' usage of one phase as one: CPU and memory added, the wall the longest. */
export function sumUsage(all: PhaseUsage[]): PhaseUsage {
  if (all.length === 1) return all[0];
  const sum = (f: (u: PhaseUsage) => number) => all.reduce((a, u) => a + f(u), 0);
  return {
    wallSeconds: Math.max(...all.map((u) => u.wallSeconds)),
    serverCpuSeconds: sum((u) => u.serverCpuSeconds),
    rfsCpuSeconds: sum((u) => u.rfsCpuSeconds),
    childCpuSeconds: sum((u) => u.childCpuSeconds),
    clientCpuSeconds: all[0].clientCpuSeconds,
    machineBusySeconds: all[0].machineBusySeconds,
    machineSeconds: all[0].machineSeconds,
    peakRssBytes: sum((u) => u.peakRssBytes),
    endRssBytes: sum((u) => u.endRssBytes),
    hwmReset: all.every((u) => u.hwmReset),
    endPss: {
      rootPssBytes: sum((u) => u.endPss.rootPssBytes),
      childrenPssBytes: sum((u) => u.endPss.childrenPssBytes),
      processes: sum((u) => u.endPss.processes),
    },
    peakPssBytes: sum((u) => u.peakPssBytes),
    processes: sum((u) => u.processes),
  };
}
