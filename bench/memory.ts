import type { ClientConfig } from 'pg';
import { KiB, MiB, RandomBytes, randomPieces } from './data';
import { fmtInt, fmtMiB, fmtMs, fmtRatio, fmtSize, fmtUs, heading, say, table } from './format';
import { expectOk, S3Http } from './http';
import { runOps, type OpsResult } from './ops';
import { bulkLoadKeys, withDatabase } from './pg';
import { PhaseMonitor, readTreeMemory, totalPss, type PhaseUsage, type TreeMemory } from './proc';
import type { BenchServer } from './server';

/**
 * The server's memory over its life, as PSS summed over its process tree (rfs + its
 * PostgreSQL): idle, after each phase, and the peak sampled during the phases that should
 * stay flat (a stream of 2 GiB, a walk through 1 M keys). Also the listing phase: a page of
 * 1,000 keys in a bucket of 10 k keys against one of 1 M (rows bulk-loaded into the database).
 */

const TARGET_BYTES = 300 * MiB;

export interface MemoryPoint {
  label: string;
  /** The tree's PSS at the point (the end of the phase). */
  pss: TreeMemory;
  /** The highest PSS sampled during the phase, when it was watched. */
  peakPssBytes?: number;
}

export class MemoryLog {
  readonly points: MemoryPoint[] = [];

  constructor(private readonly pid: number) {}

  /** The tree's memory now. */
  now(label: string): void {
    this.points.push({ label, pss: readTreeMemory(this.pid) });
  }

  /** The end of a watched phase, with its peak. */
  phase(label: string, usage: PhaseUsage): void {
    this.points.push({ label, pss: usage.endPss, peakPssBytes: usage.peakPssBytes });
  }
}

/** `count` more 4 KiB PUTs at `concurrency` (100 k), watched for memory. */
export async function manyPuts(server: BenchServer, client: S3Http, bucket: string, count: number, concurrency: number): Promise<OpsResult> {
  const body = new RandomBytes(9).next(4 * KiB);
  const key = (i: number) => `many/${i.toString().padStart(7, '0')}`;
  return runOps('PUT', [server.pid], [client], count, concurrency, async (i) => expectOk(await client.request({ method: 'PUT', bucket, key: key(i), body }), `PUT ${key(i)}`), 250);
}

export interface BigPutResult {
  bytes: number;
  mbps: number;
  usage: PhaseUsage;
}

/** One PUT of `bytes` of random data, streamed, watched for its peak memory. */
export async function bigPut(server: BenchServer, client: S3Http, bucket: string, bytes: number): Promise<BigPutResult> {
  const monitor = new PhaseMonitor(server.pid);
  const res = await client.request({ method: 'PUT', bucket, key: `big/${fmtSize(bytes).replace(' ', '')}`, body: randomPieces(bytes, MiB, 4), contentLength: bytes });
  const usage = monitor.stop();
  expectOk(res, `PUT ${fmtSize(bytes)}`);
  return { bytes, mbps: bytes / 1e6 / usage.wallSeconds, usage };
}

// ---------- listing ----------

export interface PageStats {
  keys: number;
  pages: number;
  medianMs: number;
  /** Server CPU per page (tree). */
  cpuSeconds: number;
}

export interface ListingResult {
  small: PageStats;
  large: PageStats;
  loadSeconds: number;
  /** The walk through every key of the large bucket, 1,000 per page. */
  walk: { keys: number; seconds: number; usage: PhaseUsage };
}

const keyName = (prefix: string, i: number) => `${prefix}${i.toString().padStart(9, '0')}`;

function parseList(xml: string): { keys: number; next?: string; first?: string } {
  const keys = xml.match(/<Key>/g)?.length ?? 0;
  const next = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(xml)?.[1];
  const first = /<Key>([^<]+)<\/Key>/.exec(xml)?.[1];
  return { keys, next, first };
}

/**
 * Buckets of `smallKeys` and `largeKeys` rows; `pages` pages of 1,000 keys from random places in
 * each, alternating in blocks, one request at a time; then every key of the large bucket.
 */
export async function listing(
  server: BenchServer,
  client: S3Http,
  database: ClientConfig,
  sizes: { smallKeys: number; largeKeys: number; pages: number },
  progress: (line: string) => void,
): Promise<ListingResult> {
  const small = { bucket: 'list-small', count: sizes.smallKeys };
  const large = { bucket: 'list-large', count: sizes.largeKeys };
  const t0 = process.hrtime.bigint();
  for (const b of [small, large]) expectOk(await client.request({ method: 'PUT', bucket: b.bucket }), `CreateBucket ${b.bucket}`);
  await withDatabase(database, async (db) => {
    for (const b of [small, large]) await bulkLoadKeys(db, b.bucket, 'k/', b.count);
  });
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  progress(`bulk-loaded ${fmtInt(small.count)} + ${fmtInt(large.count)} rows into the embedded PostgreSQL in ${loadSeconds.toFixed(1)} s`);

  const rng = new RandomBytes(12);
  const page = async (b: typeof small): Promise<number> => {
    const at = rng.next(4).readUInt32LE(0) % Math.max(1, b.count - 1000);
    const t = process.hrtime.bigint();
    const res = await client.request({ method: 'GET', bucket: b.bucket, query: { 'list-type': '2', 'max-keys': '1000', 'start-after': keyName('k/', at) } });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    expectOk(res, `ListObjectsV2 ${b.bucket}`);
    const { keys, first } = parseList(res.body.toString());
    if (keys !== Math.min(1000, b.count - at) || first !== keyName('k/', at + 1)) throw new Error(`ListObjectsV2 ${b.bucket} after #${at}: ${keys} keys from ${first}`);
    return ms;
  };
  const stats = new Map<typeof small, { ms: number[]; cpu: number }>([[small, { ms: [], cpu: 0 }], [large, { ms: [], cpu: 0 }]]);
  for (let i = 0; i < 5; i++) for (const b of [small, large]) await page(b); // warm-up
  const block = Math.max(1, Math.floor(sizes.pages / 4));
  for (let round = 0; round < 4; round++) {
    for (const b of round % 2 ? [large, small] : [small, large]) {
      const s = stats.get(b)!;
      const monitor = new PhaseMonitor(server.pid, { pssIntervalMs: 0 });
      for (let i = 0; i < block; i++) s.ms.push(await page(b));
      s.cpu += monitor.stop().serverCpuSeconds;
    }
  }
  const summary = (b: typeof small): PageStats => {
    const s = stats.get(b)!;
    const sorted = [...s.ms].sort((x, y) => x - y);
    return { keys: b.count, pages: sorted.length, medianMs: sorted[Math.floor(sorted.length / 2)], cpuSeconds: s.cpu / sorted.length };
  };

  // Every key of the large bucket, page after page, watched for memory.
  const monitor = new PhaseMonitor(server.pid);
  let keys = 0;
  let token: string | undefined;
  do {
    const query: Record<string, string> = { 'list-type': '2', 'max-keys': '1000' };
    if (token) query['continuation-token'] = token;
    const res = await client.request({ method: 'GET', bucket: large.bucket, query });
    expectOk(res, `ListObjectsV2 ${large.bucket}`);
    const p = parseList(res.body.toString());
    keys += p.keys;
    token = p.next;
  } while (token);
  const usage = monitor.stop();
  if (keys !== large.count) throw new Error(`listing ${large.bucket} page by page gave ${keys} keys, expected ${large.count}`);
  return { small: summary(small), large: summary(large), loadSeconds, walk: { keys, seconds: usage.wallSeconds, usage } };
}

// ---------- report ----------

export function reportMemory(log: MemoryLog): void {
  heading('Memory: PSS summed over the server process tree (rfs + its PostgreSQL)');
  const rows = log.points.map((p) => [
    p.label,
    fmtMiB(totalPss(p.pss)),
    fmtMiB(p.pss.rootPssBytes),
    fmtMiB(p.pss.childrenPssBytes),
    String(p.pss.processes),
    p.peakPssBytes ? fmtMiB(p.peakPssBytes) : '',
    totalPss(p.pss) < TARGET_BYTES && (p.peakPssBytes ?? 0) < TARGET_BYTES ? 'under' : 'ABOVE',
  ]);
  say(table(['point', 'PSS total', 'rfs', 'PostgreSQL', 'processes', 'peak during', `target < ${fmtMiB(TARGET_BYTES)}`], rows, 'lrrrrrl'));
  const warm = log.points.slice(1).map((p) => totalPss(p.pss));
  if (warm.length > 1) {
    say(`  once warm (every point after idle): ${fmtMiB(Math.min(...warm))} to ${fmtMiB(Math.max(...warm))} (spread ${fmtMiB(Math.max(...warm) - Math.min(...warm))}).`);
  }
  say('  PSS from /proc/<pid>/smaps_rollup (shared pages divided among the processes sharing them); peaks sampled every 250 ms.');
}

export function reportListing(l: ListingResult): void {
  heading('ListObjectsV2, one page of 1,000 keys (one request at a time, random start-after)');
  const rows = [l.small, l.large].map((s) => [`bucket of ${fmtInt(s.keys)} keys`, fmtMs(s.medianMs), fmtUs(s.cpuSeconds), String(s.pages)]);
  say(table(['', 'median page', 'server CPU/page', 'pages'], rows, 'lrrr'));
  const ratio = l.large.medianMs / l.small.medianMs;
  say(`  ${fmtInt(l.large.keys)} keys ÷ ${fmtInt(l.small.keys)} keys: ${fmtRatio(ratio)} time, ${fmtRatio(l.large.cpuSeconds / l.small.cpuSeconds)} CPU (target ≤ 2×: ${ratio <= 2 ? 'PASS' : 'ABOVE'})`);
  const w = l.walk;
  say(
    `  every key of the ${fmtInt(w.keys)}-key bucket, ${fmtInt(w.keys / 1000)} pages: ${w.seconds.toFixed(1)} s (${fmtInt(w.keys / w.seconds)} keys/s), ` +
      `server CPU ${w.usage.serverCpuSeconds.toFixed(1)} s (PostgreSQL ${w.usage.childCpuSeconds.toFixed(1)} s); rows bulk-loaded in ${l.loadSeconds.toFixed(1)} s`,
  );
}
