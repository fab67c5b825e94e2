import { MiB } from './data';
import { fmtInt, fmtMiB, fmtMs, fmtPct, fmtRate, fmtSize, heading, mb, say, table } from './format';
import type { BulkDeleteResult, CliResult, CompleteResult, CopyResult } from './multipart';
import type { PhaseUsage } from './proc';
import type { StageResult, StageResults } from './stages';

/** The report of the bench's original phases: one stream each way, multipart and copy, the
 * per-byte stages, the targets, and where a stream's time goes. */

export const PUT_TARGET = 0.5;
export const GET_TARGET = 0.7;

export interface StreamResult {
  bytes: number;
  mbps: number;
  usage: PhaseUsage;
}

export interface StreamResults {
  command: string;
  put: StreamResult;
  get: StreamResult;
  copy: CopyResult;
}

export interface MultipartResults {
  complete: CompleteResult;
  bulkDelete?: BulkDeleteResult;
  cli: CliResult | string;
  concurrency: number;
}

export function reportStreams(s: StreamResults, cores: number): void {
  heading(`One stream each way (server: ${s.command}, as a whole process tree)`);
  const cpu = (u: PhaseUsage) => `${u.serverCpuSeconds.toFixed(2)} s (${fmtPct(u.serverCpuSeconds / u.wallSeconds)})`;
  const rows = (['put', 'get'] as const).map((k) => {
    const x = s[k];
    return [
      `${k.toUpperCase()} ${fmtSize(x.bytes)}`,
      fmtRate(x.mbps),
      `${x.usage.wallSeconds.toFixed(2)} s`,
      cpu(x.usage),
      `${x.usage.childCpuSeconds.toFixed(2)} s`,
      `${x.usage.clientCpuSeconds.toFixed(2)} s`,
      fmtMiB(x.usage.peakPssBytes),
      fmtMiB(x.usage.peakRssBytes),
    ];
  });
  say(table(['phase', 'result', 'wall', 'server CPU (% of wall)', 'of which PostgreSQL', 'bench CPU', 'peak PSS (tree)', 'peak RSS (rfs)'], rows, 'lrrrrrrr'));
  say(
    `  MB = 10^6 bytes. CPU % counts every thread of every server process (${cores} cores = ${cores * 100} %). ` +
      `Peak RSS: rfs's VmHWM reset at each phase start${s.put.usage.hwmReset ? '' : ' (reset not permitted here: sampled VmRSS only)'}, and VmRSS sampled every 50 ms.`,
  );
}

export function reportMultipart(s: MultipartResults, streams: StreamResults | undefined): void {
  heading('Multipart and copy (each against a baseline of this run)');
  const c = s.concurrency;
  const rows: string[][] = [];
  if (streams) {
    rows.push([
      `CopyObject ${fmtSize(streams.copy.bytes)}`,
      `${streams.copy.seconds.toFixed(3)} s`,
      `PUT of it ${streams.put.usage.wallSeconds.toFixed(2)} s`,
      fmtPct(streams.copy.seconds / streams.put.usage.wallSeconds),
      `data dir +${fmtInt(streams.copy.diskGrowthBytes)} bytes (${fmtPct(streams.copy.diskGrowthBytes / streams.copy.bytes)} of the object)`,
    ]);
  }
  rows.push([
    `CompleteMultipartUpload, ${fmtInt(s.complete.parts)} parts`,
    `${s.complete.completeSeconds.toFixed(3)} s`,
    `1-part complete ${fmtMs(s.complete.onePartCompleteSeconds * 1e3)}`,
    `${(s.complete.completeSeconds / s.complete.onePartCompleteSeconds).toFixed(1)}×`,
    `parts of 1 KiB uploaded in ${s.complete.uploadSeconds.toFixed(1)} s at concurrency ${c} (RFS_MULTIPART_MIN_PART_BYTES=1)`,
  ]);
  if (s.bulkDelete) {
    rows.push([
      `DeleteObjects, ${fmtInt(s.bulkDelete.keys)} keys`,
      `${s.bulkDelete.bulkSeconds.toFixed(3)} s`,
      `${fmtInt(s.bulkDelete.keys)} DeleteObject ${s.bulkDelete.singleSeconds.toFixed(3)} s`,
      fmtPct(s.bulkDelete.bulkSeconds / s.bulkDelete.singleSeconds),
      `4 KiB objects of the small-request phase; single deletes at concurrency ${c}`,
    ]);
  }
  if (typeof s.cli === 'string') rows.push(['aws s3 cp', '-', '-', '-', s.cli]);
  else {
    const baseline = streams ? streams.put.mbps : s.cli.mbps;
    rows.push([
      `aws s3 cp ${fmtSize(s.cli.bytes)}, ${fmtSize(s.cli.partBytes)} parts × ${s.cli.concurrency}`,
      fmtRate(s.cli.mbps),
      streams ? `single-stream PUT ${fmtRate(baseline)}` : '-',
      streams ? fmtPct(s.cli.mbps / baseline) : '-',
      `fresh server: idle PSS ${fmtMiB(s.cli.idlePssBytes)}, peak PSS ${fmtMiB(s.cli.usage.peakPssBytes)}, peak RSS (rfs) ${fmtMiB(s.cli.usage.peakRssBytes)} ` +
        `(target < 400 MiB: ${s.cli.usage.peakPssBytes < 400 * MiB ? 'PASS' : 'ABOVE'}); ${s.cli.version.split(' ')[0]}`,
    ]);
  }
  say(table(['phase', 'result', 'baseline', 'ratio', 'notes'], rows, 'lrlrl'));
}

export function reportStages(r: StageResults, sizes: { stageBytes: number; logBytes: number; reps: number }): void {
  heading(`Per-byte stages (this process, one at a time, best of ${sizes.reps}; ${fmtSize(sizes.stageBytes)} random, ${fmtSize(sizes.logBytes)} log text)`);
  const rows = r.all.map((s) => [s.name, s.data, s.mbps >= 10_000 ? fmtInt(s.mbps) : s.mbps.toFixed(1), (s.cpuSeconds / s.seconds).toFixed(2), s.note ?? '']);
  say(table(['stage', 'data', 'MB/s', 'cpu/wall', 'notes'], rows, 'llrrl') + '\n');
  say(`  BLAKE3 ÷ SHA-256: ${(r.blake3.mbps / r.sha256.mbps).toFixed(2)}×\n`);
}

function slowest(stages: StageResult[]): StageResult {
  return stages.reduce((a, b) => (b.mbps < a.mbps ? b : a));
}

function label(s: StageResult): string {
  return `${s.name}${s.data === 'log text' ? ' on log text' : ''}`;
}

export function reportTargets(s: StreamResults, r: StageResults): void {
  heading('Against the targets (a report, not a failure)');
  // The issue's yardstick: the slowest of the per-byte stages a PUT needs (MD5 for the ETag,
  // the chunk hash, the gear hash, LZ4), for both directions.
  const required = [r.md5, r.blake3, r.gear, r.encodeRandom];
  const rows = [
    { what: 'PUT', achieved: s.put.mbps, bound: slowest(required), target: PUT_TARGET },
    { what: 'GET', achieved: s.get.mbps, bound: slowest(required), target: GET_TARGET },
  ].map((x) => {
    const ratio = x.achieved / x.bound.mbps;
    return [
      x.what,
      fmtRate(x.achieved),
      `${label(x.bound)} ${fmtRate(x.bound.mbps)}`,
      fmtPct(ratio),
      `≥ ${fmtPct(x.target)}`,
      ratio >= x.target ? 'PASS' : 'BELOW',
    ];
  });
  say(table(['', 'achieved', 'slowest required stage', 'ratio', 'target', ''], rows, 'lrlrrl') + '\n');
  say(
    `  stages: ${required.map((x) => `${x.name} ${fmtInt(x.mbps)}`).join(', ')} MB/s ` +
      `(random data is stored raw, so encodeChunk is its probe path; LZ4 on log text: ${fmtInt(r.encodeLog.mbps)} MB/s)\n`,
  );
}

export function reportTime(s: StreamResults, r: StageResults, cores: number): void {
  heading('Where the time goes');
  const cost = (x: StageResult) => 1e3 / x.mbps; // ms per MB
  const breakdown = (title: string, stages: StageResult[], achieved: number, extra?: StageResult) => {
    const sum = stages.reduce((a, x) => a + cost(x), 0);
    const rows = stages.map((x) => [`  ${label(x)}`, `${cost(x).toFixed(3)} ms/MB`, fmtPct(cost(x) / sum)]);
    rows.push(['  sum', `${sum.toFixed(3)} ms/MB`, '100 %']);
    say(`  ${title}\n${table(['stage', 'cost per MB', 'share'], rows, 'lrr')}\n`);
    const best = 1e3 / sum;
    say(`    best single-thread throughput = 1 / sum = ${fmtRate(best)}; achieved ${fmtRate(achieved)} = ${fmtPct(achieved / best)} of it\n`);
    if (extra) {
      const withExtra = 1e3 / (sum + cost(extra));
      say(`    with ${label(extra)} (${cost(extra).toFixed(3)} ms/MB, also on the main thread): ${fmtRate(withExtra)}; achieved = ${fmtPct(achieved / withExtra)} of it\n`);
    }
  };
  breakdown('PUT: per-byte stages on the gateway main thread (UNSIGNED-PAYLOAD: no SHA-256, no CRC)', [r.blake3, r.gear], s.put.mbps, r.encodeRandom);
  say(
    `    MD5 (${cost(r.md5).toFixed(3)} ms/MB, ${fmtRate(r.md5.mbps)}) runs beside them on the hash worker (bodies over 1 MiB): ` +
      `a PUT cannot go faster than it either; achieved = ${fmtPct(s.put.mbps / r.md5.mbps)} of it\n`,
  );
  breakdown('GET: per-byte stages (BLAKE3 verify on read, chunk decode)', [r.blake3, r.decodeRandom], s.get.mbps);

  say(
    `\n  the store alone on this disk, no HTTP: ${label(r.storePut)} ${fmtRate(r.storePut.mbps)} (PUT achieved ${fmtPct(s.put.mbps / r.storePut.mbps)} of it), ` +
      `${label(r.storeGet)} ${fmtRate(r.storeGet.mbps)} (GET achieved ${fmtPct(s.get.mbps / r.storeGet.mbps)} of it)\n`,
  );
  const serverCpu = (what: string, x: StreamResult, stageSum: number, rest: string) => {
    const u = x.usage;
    const perMB = (u.serverCpuSeconds * 1e3) / mb(x.bytes);
    say(
      `  server CPU during ${what} ${fmtSize(x.bytes)}: ${u.serverCpuSeconds.toFixed(2)} s in ${u.wallSeconds.toFixed(2)} s wall = ` +
        `${fmtPct(u.serverCpuSeconds / u.wallSeconds)} (of ${cores * 100} %); ${perMB.toFixed(3)} ms/MB, ` +
        `of which the stages above are ${stageSum.toFixed(3)} (${fmtPct(stageSum / perMB)}); the rest is ${rest}\n`,
    );
  };
  serverCpu('PUT', s.put, cost(r.md5) + cost(r.blake3) + cost(r.gear) + cost(r.encodeRandom), 'HTTP parsing, copies and hand-offs to the hash worker, writes and fsync, GC, metadata');
  serverCpu('GET', s.get, cost(r.blake3) + cost(r.decodeRandom), 'file reads, streams, socket writes, GC, metadata');
  say(
    `  bench process CPU (data generation, HTTP, CRC32): PUT ${s.put.usage.clientCpuSeconds.toFixed(2)} s, GET ${s.get.usage.clientCpuSeconds.toFixed(2)} s ` +
      `— on ${cores} cores it competes with the server's threads\n`,
  );
}

