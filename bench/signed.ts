import { createHash } from 'node:crypto';
import { HashPool, type HashSession } from '../gateway/body/hash-pool';
import { KiB, MiB, RandomBytes } from './data';
import { fmtMs, fmtPct, fmtRate, fmtRatio, fmtSize, heading, say, table } from './format';
import { expectOk, type S3Http } from './http';
import { PhaseMonitor, threadCpu, type PhaseUsage } from './proc';
import type { BenchServer } from './server';

/**
 * A single-request PUT with a signed payload (x-amz-content-sha256 = the body's SHA-256, as
 * an SDK sends a Buffer body) against the same PUT with UNSIGNED-PAYLOAD: same Buffer, same
 * client, interleaved rounds. Each PUT is watched per thread of the rfs process (the main
 * thread, the busiest other thread, which is the hash worker, and the rest: libuv's pool doing
 * chunk writes and fsyncs, GC), so the report shows which thread bounds each mode.
 *
 * Then the gateway's HashPool alone, in this process, on the same bytes in the 64 KiB pieces a
 * socket delivers, with the backpressure the upload loop uses (update, then await drained()):
 * MD5 (an unsigned PUT's hashing), MD5 + SHA-256 in one session (a signed PUT's, today), and
 * MD5 and SHA-256 in two sessions on two workers (the proposed fix).
 */

export interface ThreadCpu {
  main: number;
  /** The busiest thread but the main one: the hash worker. */
  worker: number;
  rest: number;
}

export interface SignedRun {
  mode: 'signed' | 'unsigned';
  mbps: number;
  usage: PhaseUsage;
  threads: ThreadCpu;
}

export interface HashAlone {
  label: string;
  mbps: number;
  /** CPU seconds of this process (all threads) over the run. */
  cpuSeconds: number;
  seconds: number;
}

export interface SignedResult {
  bytes: number;
  runs: SignedRun[];
  alone: HashAlone[];
  hashThreads: number;
}

function threadDelta(pid: number, before: Map<number, number>): ThreadCpu {
  const after = threadCpu(pid);
  let main = 0;
  const others: number[] = [];
  for (const [tid, t] of after) {
    const d = t - (before.get(tid) ?? 0);
    if (tid === pid) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  return { main, worker: others[0] ?? 0, rest: others.slice(1).reduce((a, b) => a + b, 0) };
}

export async function signedPayload(server: BenchServer, client: S3Http, bucket: string, bytes: number, rounds: number, hashThreads: number): Promise<SignedResult> {
  const body = new RandomBytes(5).next(bytes);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const md5 = createHash('md5').update(body).digest('hex');
  // Untimed: stores the body's chunks once, so that every timed PUT finds them stored (dedup)
  // and measures the per-byte path, not the first one's writes and fsyncs.
  expectOk(await client.request({ method: 'PUT', bucket, key: 'signed/first', body }), `PUT ${fmtSize(bytes)}`);
  const runs: SignedRun[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 ? (['signed', 'unsigned'] as const) : (['unsigned', 'signed'] as const)) {
      const before = threadCpu(server.pid);
      const monitor = new PhaseMonitor(server.pid);
      const res = await client.request({
        method: 'PUT',
        bucket,
        key: `signed/${mode}`,
        body,
        headers: mode === 'signed' ? { 'x-amz-content-sha256': sha256 } : {},
      });
      const usage = monitor.stop();
      const threads = threadDelta(server.pid, before);
      expectOk(res, `PUT ${fmtSize(bytes)} ${mode}`);
      if (res.headers.etag !== `"${md5}"`) throw new Error(`PUT ${mode}: ETag ${res.headers.etag}, expected ${md5}`);
      runs.push({ mode, mbps: bytes / 1e6 / usage.wallSeconds, usage, threads });
    }
  }
  return { bytes, runs, alone: await hashPoolAlone(body), hashThreads };
}

/** The upload loop's hashing alone: 64 KiB pieces into sessions, awaiting drained() after each. */
async function hashPoolAlone(body: Buffer): Promise<HashAlone[]> {
  const PIECE = 64 * KiB;
  const feed = async (sessions: HashSession[]) => {
    for (let at = 0; at < body.length; at += PIECE) {
      const piece = body.subarray(at, at + PIECE);
      for (const s of sessions) s.update(piece);
      for (const s of sessions) await s.drained();
    }
    for (const s of sessions) await s.digests();
  };
  const timed = async (label: string, threads: number, run: (pool: HashPool) => Promise<void>): Promise<HashAlone> => {
    const pool = new HashPool(threads);
    try {
      await run(pool); // warm-up: starts the workers, compiles the loop
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await run(pool);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      return { label, seconds, cpuSeconds: (c.user + c.system) / 1e6, mbps: body.length / 1e6 / seconds };
    } finally {
      await pool.close();
    }
  };
  const main = (alg: string): HashAlone => {
    const t0 = process.hrtime.bigint();
    const h = createHash(alg);
    for (let at = 0; at < body.length; at += PIECE) h.update(body.subarray(at, at + PIECE));
    h.digest();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { label: `${alg.toUpperCase()} alone, one thread (node:crypto)`, seconds, cpuSeconds: seconds, mbps: body.length / 1e6 / seconds };
  };
  return [
    main('md5'),
    main('sha256'),
    await timed('HashPool(1): session [md5] — an unsigned PUT', 1, (p) => feed([p.session(['md5'])])),
    await timed('HashPool(1): session [md5, sha256] — a signed PUT today', 1, (p) => feed([p.session(['md5', 'sha256'])])),
    await timed('HashPool(1): sessions [md5] + [sha256] on its one worker', 1, (p) => feed([p.session(['md5']), p.session(['sha256'])])),
    await timed('HashPool(2): sessions [md5] + [sha256] — proposed', 2, (p) => feed([p.session(['md5']), p.session(['sha256'])])),
  ];
}

export function reportSigned(r: SignedResult): void {
  heading(`Single-request PUT of ${fmtSize(r.bytes)} from a Buffer: signed payload (x-amz-content-sha256 = SHA-256) against UNSIGNED-PAYLOAD`);
  say('  Interleaved rounds, same bytes and client; the chunks were stored by an untimed PUT first, so every timed PUT measures the per-byte path (dedup: no chunk writes).');
  const mb = r.bytes / 1e6;
  const perMB = (s: number) => `${((s * 1e3) / mb).toFixed(2)}`;
  const rows = r.runs.map((x) => [
    x.mode,
    fmtRate(x.mbps),
    `${x.usage.wallSeconds.toFixed(2)} s`,
    perMB(x.usage.serverCpuSeconds),
    perMB(x.threads.main),
    perMB(x.threads.worker),
    perMB(x.threads.rest),
    perMB(x.usage.childCpuSeconds),
    fmtPct(x.threads.main / x.usage.wallSeconds),
    fmtPct(x.threads.worker / x.usage.wallSeconds),
    perMB(x.usage.clientCpuSeconds),
    fmtPct(Math.max(0, x.usage.machineBusySeconds - x.usage.serverCpuSeconds - x.usage.clientCpuSeconds) / x.usage.machineSeconds),
    fmtPct(Math.max(0, 1 - x.usage.machineBusySeconds / x.usage.machineSeconds)),
  ]);
  say(
    table(
      ['mode', 'rate', 'wall', 'server ms/MB', 'main thread', 'hash worker', 'other threads', 'PostgreSQL', 'main busy', 'worker busy', 'bench ms/MB', 'other procs', 'cores idle'],
      rows,
      'lrrrrrrrrrrrr',
    ),
  );
  const best = (m: SignedRun['mode']) => Math.max(...r.runs.filter((x) => x.mode === m).map((x) => x.mbps));
  const mean = (m: SignedRun['mode'], f: (x: SignedRun) => number) => {
    const xs = r.runs.filter((x) => x.mode === m);
    return xs.reduce((a, x) => a + f(x), 0) / xs.length;
  };
  say(
    `  best of each: signed ${fmtRate(best('signed'))}, unsigned ${fmtRate(best('unsigned'))}: signed ÷ unsigned = ${fmtRatio(best('signed') / best('unsigned'))}; ` +
      `CPU per MB, mean: main thread ${perMB(mean('signed', (x) => x.threads.main))} vs ${perMB(mean('unsigned', (x) => x.threads.main))} ms, ` +
      `hash worker ${perMB(mean('signed', (x) => x.threads.worker))} vs ${perMB(mean('unsigned', (x) => x.threads.worker))} ms (RFS_HASH_THREADS default here: ${r.hashThreads}).`,
  );
  say(
    '  ms/MB columns: CPU per MB of body. The hash worker: the busiest rfs thread but the main one (Node 20 names no thread, so it is told by its CPU); ' +
      'other threads: libuv pool (chunk-store calls), V8 GC helpers. other procs / cores idle: the whole machine during the PUT (/proc/stat).',
  );
  say(`\n  The gateway's HashPool alone, in this process, ${fmtSize(r.bytes)} in 64 KiB pieces with the upload loop's backpressure:`);
  const md5 = r.alone.find((a) => a.label.startsWith('HashPool(1): session [md5]'))!;
  say(
    table(
      ['hashing', 'MB/s', 'wall', 'CPU (all threads)', 'vs [md5] alone'],
      r.alone.map((a) => [a.label, a.mbps.toFixed(0), fmtMs(a.seconds * 1e3), fmtMs(a.cpuSeconds * 1e3), a.label.startsWith('HashPool') ? fmtRatio(a.mbps / md5.mbps) : '']),
      'lrrrr',
    ),
  );
}

export const SIGNED_BYTES = 256 * MiB;
