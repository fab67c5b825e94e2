import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { KiB, RandomBytes } from './data';
import { fmtInt, fmtMs, fmtRatio, fmtUs, heading, say, table } from './format';
import { expectOk, S3Http } from './http';
import { runOps, type OpsResult } from './ops';
import { backendPids, withDatabase } from './pg';
import { createTestDatabase, dropTestDatabase } from '../metadata/pg.testing';
import { readStat } from './proc';
import { onInterrupt, startServer, type BenchServer } from './server';
import type { Credentials } from './sigv4';

/**
 * rfs on the machine's PostgreSQL (RFS_DATABASE_URL) instead of its embedded one, in a database
 * of the bench's own (`rfs_bench_<pid>`, dropped afterwards), all gateways sharing one chunks
 * dir (RFS_CHUNKS_DIR), each with its own data dir and port:
 * - 4 KiB PUT, GET and HEAD with one gateway, then with two, the same client concurrency split
 *   across both (request i goes to gateway i mod 2, for every operation on its key); both use
 *   the key filter in Redis (RFS_REDIS_URL, a Redis db of the bench's own, flushed afterwards),
 *   as gateways sharing a database must, unless there is no Redis;
 * - HEAD of a missing key on that gateway against one with the in-process filter (no
 *   RFS_REDIS_URL), in alternating blocks.
 * The database server's CPU is that of its backends serving the bench's database; Redis's is
 * its own count (INFO cpu), which other clients of that Redis add to.
 */

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
const BUCKET = 'shared';

type Op = 'put' | 'get' | 'head';

export interface GatewaysResult {
  server: string;
  one: Record<Op, OpsResult & { dbCpuSeconds: number }>;
  two: Record<Op, OpsResult & { dbCpuSeconds: number }>;
  /** HEADs through gateway B of keys written through gateway A during the two-gateway run. */
  cross: { checked: number; found: number };
  /** The Redis db the gateways shared, or why there was none. */
  redisDb: number | string;
  redis: { keysInRedis: number; without: OpsResult; with: OpsResult; redisCpuSeconds: number } | string;
}

export interface GatewayOptions {
  root: Credentials;
  count: number;
  concurrency: number;
  adminUrl: string;
  redisUrl: string;
  progress: (line: string) => void;
}

export function gatewayOptions(root: Credentials, count: number, concurrency: number, progress: (line: string) => void): GatewayOptions {
  return {
    root,
    count,
    concurrency,
    adminUrl: process.env.RFS_BENCH_PG_URL || DEFAULT_ADMIN_URL,
    redisUrl: process.env.RFS_BENCH_REDIS_URL || DEFAULT_REDIS,
    progress,
  };
}

/** Runs the phase, or says why it could not (no PostgreSQL there). */
export async function sharedDatabase(o: GatewayOptions): Promise<GatewaysResult | string> {
  let version: string;
  try {
    version = await withDatabase(o.adminUrl, async (db) => {
      const { rows } = await db.query<{ v: string; f: string; s: string }>(
        "SELECT split_part(version(), ' ', 2) AS v, current_setting('fsync') AS f, current_setting('synchronous_commit') AS s",
      );
      return `PostgreSQL ${rows[0].v} at ${new URL(o.adminUrl).host}, fsync ${rows[0].f}, synchronous_commit ${rows[0].s}`;
    });
  } catch (e) {
    return `skipped: no PostgreSQL at ${o.adminUrl} (${(e as Error).message}); set RFS_BENCH_PG_URL`;
  }
  const name = `rfs_bench_${process.pid}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rfs-bench-shared-'));
  const servers: BenchServer[] = [];
  const clients: S3Http[] = [];
  let dbUrl: string | undefined;
  const redis = await ownRedisDb(o.redisUrl);
  // On an interrupt the phase's own cleanup below may not get to run: the same, on fresh connections.
  const forget = onInterrupt(() =>
    Promise.allSettled([
      dropTestDatabase(name, o.adminUrl),
      typeof redis === 'string' ? undefined : flushRedisDb(o.redisUrl, redis.db),
      rm(dir, { recursive: true, force: true }),
    ]),
  );
  try {
    dbUrl = (await createTestDatabase(name, o.adminUrl)).url;
    const env: Record<string, string> = { RFS_DATABASE_URL: dbUrl, RFS_CHUNKS_DIR: path.join(dir, 'chunks') };
    if (typeof redis !== 'string') env.RFS_REDIS_URL = `${o.redisUrl}/${redis.db}`;
    const start = async (label: string, extra: Record<string, string | undefined> = {}) => {
      const merged = Object.fromEntries(Object.entries({ ...env, ...extra }).filter(([, v]) => v !== undefined)) as Record<string, string>;
      const s = await startServer(path.join(dir, label), o.root, merged);
      servers.push(s);
      return s;
    };
    const client = (s: BenchServer, sockets: number) => {
      const c = new S3Http(s.url, o.root, sockets);
      clients.push(c);
      return c;
    };
    const a = await start('a');
    const a16 = client(a, o.concurrency);
    expectOk(await a16.request({ method: 'PUT', bucket: BUCKET }), 'CreateBucket');
    const body = new RandomBytes(21).next(4 * KiB);
    const dbCpu = async () => {
      const pids = await backendPids(o.adminUrl, name);
      return () => pids.reduce((t, p) => t + (readStat(p)?.cpuSeconds ?? 0), 0);
    };
    const trio = async (tag: string, pids: number[], cs: S3Http[]) => {
      const pick = (i: number) => cs[i % cs.length];
      const key = (i: number) => `${tag}/${i.toString().padStart(6, '0')}`;
      const run: Record<Op, (i: number) => Promise<void>> = {
        put: async (i) => expectOk(await pick(i).request({ method: 'PUT', bucket: BUCKET, key: key(i), body }), `PUT ${key(i)}`),
        get: async (i) => expectOk(await pick(i).request({ method: 'GET', bucket: BUCKET, key: key(i) }), `GET ${key(i)}`),
        head: async (i) => expectOk(await pick(i).request({ method: 'HEAD', bucket: BUCKET, key: key(i) }), `HEAD ${key(i)}`),
      };
      await runOps('warm-up', pids, cs, 100, o.concurrency, async (i) => {
        expectOk(await pick(i).request({ method: 'PUT', bucket: BUCKET, key: `warm-${tag}/${i}`, body }), 'PUT warm-up');
        expectOk(await pick(i).request({ method: 'GET', bucket: BUCKET, key: `warm-${tag}/${i}` }), 'GET warm-up');
      });
      const out: Partial<GatewaysResult['one']> = {};
      for (const op of ['put', 'get', 'head'] as const) {
        const cpu = await dbCpu();
        const t0 = cpu();
        const r = await runOps(op.toUpperCase(), pids, cs, o.count, o.concurrency, run[op]);
        out[op] = { ...r, dbCpuSeconds: cpu() - t0 };
      }
      o.progress(`${cs.length} gateway(s): ${(['put', 'get', 'head'] as const).map((op) => `${op.toUpperCase()} ${fmtInt(out[op]!.opsPerSecond)}`).join(', ')} ops/s`);
      return out as GatewaysResult['one'];
    };

    const one = await trio('one', [a.pid], [a16]);
    const b = await start('b');
    const a8 = client(a, o.concurrency / 2);
    const b8 = client(b, o.concurrency / 2);
    const two = await trio('two', [a.pid, b.pid], [a8, b8]);
    let found = 0;
    const checked = Math.min(100, Math.floor(o.count / 2));
    for (let i = 0; i < checked; i++) {
      if ((await b8.request({ method: 'HEAD', bucket: BUCKET, key: `two/${(2 * i).toString().padStart(6, '0')}` })).status === 200) found++;
    }
    const ratio =
      typeof redis === 'string'
        ? `skipped: ${redis}`
        : await redisRatio(o, redis.client, a, a16, async () => {
            const c = await start('c', { RFS_REDIS_URL: undefined });
            return { server: c, client: client(c, o.concurrency) };
          });
    return { server: version, one, two, cross: { checked, found }, redisDb: typeof redis === 'string' ? redis : redis.db, redis: ratio };
  } finally {
    forget();
    for (const c of clients) c.close();
    for (const s of servers) await s.stop();
    if (dbUrl) await dropTestDatabase(name, o.adminUrl).catch((e: Error) => o.progress(`could not drop database ${name}: ${e.message}`));
    if (typeof redis !== 'string') {
      await redis.client.flushdb().catch(() => undefined);
      redis.client.disconnect();
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** A connection to the first empty Redis db from 9 on (the bench's own: flushed afterwards),
 * or why there is none. */
async function ownRedisDb(url: string): Promise<{ client: Redis; db: number } | string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (let db = 9; db < 16; db++) {
      await client.select(db);
      if ((await client.dbsize()) === 0) return { client, db };
    }
    client.disconnect();
    return 'Redis dbs 9–15 all hold keys; none is free for the bench';
  } catch (e) {
    client.disconnect();
    return `no Redis at ${url} (${(e as Error).message}); set RFS_BENCH_REDIS_URL`;
  }
}

async function flushRedisDb(url: string, db: number): Promise<void> {
  const client = new Redis(`${url}/${db}`, { maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.flushdb();
  } finally {
    client.disconnect();
  }
}

/** Redis's own CPU seconds so far (INFO cpu: the server's, whoever its clients are). */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return num('used_cpu_user') + num('used_cpu_sys');
}

/** HEAD of missing keys on gateway `a` (key filter in Redis) and on a gateway started without
 * RFS_REDIS_URL (in-process filter), in alternating blocks after a warm-up of both. */
async function redisRatio(
  o: GatewayOptions,
  redis: Redis,
  a: BenchServer,
  ac: S3Http,
  startPlain: () => Promise<{ server: BenchServer; client: S3Http }>,
): Promise<GatewaysResult['redis']> {
  const keysInRedis = await redis.dbsize();
  const { server: c, client: cc } = await startPlain();
  const head = (client: S3Http, tag: string) => async (i: number) => {
    const res = await client.request({ method: 'HEAD', bucket: BUCKET, key: `missing-${tag}/${i}` });
    if (res.status !== 404) throw new Error(`HEAD missing: HTTP ${res.status}`);
  };
  for (const [pid, client, tag] of [[a.pid, ac, 'wa'], [c.pid, cc, 'wc']] as const) await runOps('warm-up', [pid], [client], 200, o.concurrency, head(client, tag));
  const block = Math.max(1, Math.floor(o.count / 2));
  const results = { without: [] as OpsResult[], with: [] as OpsResult[] };
  let redisCpuSeconds = 0;
  for (let round = 0; round < 2; round++) {
    results.without.push(await runOps('HEAD missing', [c.pid], [cc], block, o.concurrency, head(cc, `c${round}`)));
    const r0 = await redisCpu(redis);
    results.with.push(await runOps('HEAD missing, Redis', [a.pid], [ac], block, o.concurrency, head(ac, `a${round}`)));
    redisCpuSeconds += (await redisCpu(redis)) - r0;
  }
  const merge = (xs: OpsResult[]): OpsResult => {
    const sum = (f: (x: OpsResult) => number) => xs.reduce((t, x) => t + f(x), 0);
    const count = sum((x) => x.count);
    const wall = sum((x) => x.usage.wallSeconds);
    return {
      ...xs[0],
      count,
      opsPerSecond: count / wall,
      p50Ms: sum((x) => x.p50Ms) / xs.length,
      p99Ms: Math.max(...xs.map((x) => x.p99Ms)),
      connections: sum((x) => x.connections),
      usage: { ...xs[0].usage, wallSeconds: wall, serverCpuSeconds: sum((x) => x.usage.serverCpuSeconds) },
    };
  };
  o.progress(`HEAD missing: key filter in Redis against in process`);
  return { keysInRedis, without: merge(results.without), with: merge(results.with), redisCpuSeconds };
}

export function reportGateways(g: GatewaysResult | string, concurrency: number): void {
  heading('Gateways on a shared PostgreSQL (RFS_DATABASE_URL, one chunks dir)');
  if (typeof g === 'string') {
    say(`  ${g}`);
    return;
  }
  say(`  ${g.server}; database of the bench's own, dropped afterwards`);
  const rows = (['put', 'get', 'head'] as const).map((op) => {
    const [x, y] = [g.one[op], g.two[op]];
    return [
      `${op.toUpperCase()} 4 KiB`,
      fmtInt(x.opsPerSecond),
      fmtInt(y.opsPerSecond),
      fmtRatio(y.opsPerSecond / x.opsPerSecond),
      `${fmtMs(x.p50Ms)} / ${fmtMs(y.p50Ms)}`,
      `${fmtUs(x.usage.serverCpuSeconds / x.count)} / ${fmtUs(y.usage.serverCpuSeconds / y.count)}`,
      `${fmtUs(x.dbCpuSeconds / x.count)} / ${fmtUs(y.dbCpuSeconds / y.count)}`,
      String(x.retries + y.retries),
    ];
  });
  say(
    table(
      ['', '1 gateway ops/s', '2 gateways ops/s', '2 ÷ 1', 'p50 (1 / 2)', 'rfs CPU/req (1 / 2)', 'PostgreSQL backends CPU/req (1 / 2)', 're-sent (5xx, reset)'],
      rows,
      'lrrrrrrr',
    ),
  );
  say(
    `  concurrency ${concurrency} in both; with two gateways ${concurrency / 2} to each, every request on a key to the gateway that wrote it; ` +
      (typeof g.redisDb === 'number' ? `key filter in Redis db ${g.redisDb} for both.` : `key filter in process (${g.redisDb}).`),
  );
  const c = g.cross;
  say(
    `  a key written through gateway A, HEAD through gateway B: ${c.found} of ${c.checked} found` +
      (c.found < c.checked ? ' — B\'s key filter did not learn of A\'s writes: gateways sharing a database need the shared filter (RFS_REDIS_URL)' : ''),
  );
  heading('HEAD of a missing key: key filter in Redis against in process');
  if (typeof g.redis === 'string') {
    say(`  ${g.redis}`);
    return;
  }
  const { without: w, with: r, redisCpuSeconds } = g.redis;
  say(
    table(
      ['filter', 'ops/s', 'p50', 'p99', 'server CPU/req', 'new conns/req'],
      [
        ['in process', fmtInt(w.opsPerSecond), fmtMs(w.p50Ms), fmtMs(w.p99Ms), fmtUs(w.usage.serverCpuSeconds / w.count), (w.connections / w.count).toFixed(2)],
        [`Redis db ${g.redisDb}`, fmtInt(r.opsPerSecond), fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtUs(r.usage.serverCpuSeconds / r.count), (r.connections / r.count).toFixed(2)],
      ],
      'lrrrrr',
    ),
  );
  say(
    `  Redis ÷ in process: ${fmtRatio(r.opsPerSecond / w.opsPerSecond)} ops/s, ${fmtRatio(r.usage.serverCpuSeconds / r.count / (w.usage.serverCpuSeconds / w.count))} rfs CPU per request; ` +
      `Redis's own CPU ${fmtUs(redisCpuSeconds / r.count)} per request (INFO cpu, any other client of it included). Same database, same bucket, both gateways warm.`,
  );
  if (g.redis.keysInRedis === 0) say(`  Redis db ${g.redisDb} was still empty after the PUTs: this build does not use RFS_REDIS_URL, so both gateways answered from an in-process filter.`);
}
