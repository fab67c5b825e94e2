import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ClientConfig } from 'pg';
import { authenticate, StaticIdentity } from '../gateway/auth';
import { signV2, stringToSignV2 } from '../gateway/auth/sigv2';
import { KiB, RandomBytes } from './data';
import { fmtInt, fmtMs, fmtPct, fmtUs, heading, say, table } from './format';
import { expectOk, S3Http } from './http';
import { runOps, type OpsResult } from './ops';
import { xactCounts, type XactCounts } from './pg';
import type { BenchServer } from './server';
import { encodePath, SigV4Signer, type Credentials } from './sigv4';

/**
 * What one small request costs the server, rung by rung: each rung adds one stage to the one
 * before, so the difference of their CPU per request is that stage's cost.
 *
 *   floor          node:http alone, no framework (a process of its own): the kernel and Node
 *   health         GET /_rfs/health: fastify and rfs's hooks, no auth
 *   GET missing    + SigV4 verification, routing, bucket lookup (cached), key filter → 404
 *   HEAD missing   the same answered without a body (the Bloom filter answers, no database)
 *   HEAD           + the metadata read: one row from PostgreSQL
 *   GET            + the 4 KiB body, inline in the row
 *   PUT            + body in, MD5, and the commit: a SERIALIZABLE transaction, fsynced
 *   PUT as chunk   the same on a server with RFS_INLINE_MAX_BYTES=0: + a chunk file written
 *                  and fsynced (with its directory) before the commit
 *
 * CPU is the server's whole process tree (rfs + its PostgreSQL), split into the two; the
 * database's transactions per request (pg_stat_database) show retries. SigV4 signing and the
 * gateway's own verifiers (SigV4, and SigV2 for older clients) are also timed in this process, alone.
 */

export const SMALL_SIZE = 4 * KiB;
export const smallKey = (i: number) => `small/${i.toString().padStart(6, '0')}`;

export type RungName = 'health' | 'getMissing' | 'headMissing' | 'head' | 'get' | 'put' | 'putChunk';

export interface Rung extends OpsResult {
  /** Database transactions during the rung (committed, rolled back), when readable. */
  xact?: XactCounts;
}

export interface RequestCosts {
  floor: OpsResult;
  rungs: Record<RungName, Rung>;
  /** CPU seconds per request, in this process, one at a time. */
  signSeconds: number;
  verifySeconds: number;
  /** The gateway's SigV2 verifier on the same request (older clients). */
  verifyV2Seconds: number;
  concurrency: number;
}

export interface RequestOptions {
  server: BenchServer;
  root: Credentials;
  bucket: string;
  count: number;
  concurrency: number;
  /** The server's database, for transaction counts. */
  database?: ClientConfig | string;
  /** A second server, started with RFS_INLINE_MAX_BYTES=0 (bucket made), for the chunk rung. */
  chunkServer?: BenchServer;
  progress: (line: string) => void;
}

export async function measureRequests(o: RequestOptions): Promise<RequestCosts> {
  const client = new S3Http(o.server.url, o.root, o.concurrency);
  const rng = new RandomBytes(3);
  const bodies = Array.from({ length: o.count }, () => rng.next(SMALL_SIZE));
  const ops = (op: string, run: (i: number) => Promise<void>) => runOps(op, [o.server.pid], [client], o.count, o.concurrency, run);
  const { bucket } = o;
  const status = async (r: Parameters<S3Http['request']>[0], want: number, what: string) => {
    const res = await client.request(r);
    if (res.status !== want) throw new Error(`${what}: HTTP ${res.status}, expected ${want}`);
    return res;
  };
  const plan: [RungName, string, (i: number) => Promise<void>][] = [
    ['health', 'GET /_rfs/health', async () => void (await status({ method: 'GET', bucket: '_rfs', key: 'health', anonymous: true }, 200, 'health'))],
    ['getMissing', 'GET missing key', async (i) => void (await status({ method: 'GET', bucket, key: `missing/${i}` }, 404, 'GET missing'))],
    ['headMissing', 'HEAD missing key', async (i) => void (await status({ method: 'HEAD', bucket, key: `missing/${i}` }, 404, 'HEAD missing'))],
    ['put', 'PUT 4 KiB', async (i) => expectOk(await client.request({ method: 'PUT', bucket, key: smallKey(i), body: bodies[i] }), `PUT ${smallKey(i)}`)],
    ['head', 'HEAD 4 KiB', async (i) => {
      const res = await status({ method: 'HEAD', bucket, key: smallKey(i) }, 200, `HEAD ${smallKey(i)}`);
      if (res.headers['content-length'] !== String(SMALL_SIZE)) throw new Error(`HEAD ${smallKey(i)}: content-length ${res.headers['content-length']}`);
    }],
    ['get', 'GET 4 KiB', async (i) => {
      const res = await status({ method: 'GET', bucket, key: smallKey(i) }, 200, `GET ${smallKey(i)}`);
      if (!res.body.equals(bodies[i])) throw new Error(`GET ${smallKey(i)}: body differs from what was PUT`);
    }],
  ];
  try {
    // Warm-up, untimed: every rung on other keys, so the timed runs start on warm code.
    await runOps('warm-up', [o.server.pid], [client], 100, o.concurrency, async (i) => {
      const key = `warmup-small/${i}`;
      expectOk(await client.request({ method: 'PUT', bucket, key, body: bodies[i] }), `PUT ${key}`);
      await status({ method: 'GET', bucket, key }, 200, `GET ${key}`);
      await status({ method: 'HEAD', bucket, key }, 200, `HEAD ${key}`);
      await status({ method: 'HEAD', bucket, key: `${key}/missing` }, 404, `HEAD ${key}/missing`);
      await status({ method: 'GET', bucket: '_rfs', key: 'health', anonymous: true }, 200, 'health');
    });
    const floor = await floorRung(o);
    o.progress(`node:http floor: ${fmtInt(floor.opsPerSecond)} req/s`);
    const rungs: Partial<Record<RungName, Rung>> = {};
    for (const [name, label, run] of plan) {
      // Transaction counts for the PUTs only: each reading waits ~10 s for the counts to land.
      const counted = name === 'put' && o.database;
      const before = counted ? await xactCounts(counted).catch(() => undefined) : undefined;
      const rung: Rung = await ops(label, run);
      const after = before && counted ? await xactCounts(counted).catch(() => undefined) : undefined;
      if (before && after) rung.xact = { commits: after.commits - before.commits, rollbacks: after.rollbacks - before.rollbacks };
      rungs[name] = rung;
      o.progress(`${label}: ${fmtInt(rung.opsPerSecond)} ops/s, server CPU ${fmtUs(rung.usage.serverCpuSeconds / rung.count)} per request`);
    }
    if (o.chunkServer) {
      rungs.putChunk = await chunkRung(o, bodies);
      o.progress(`PUT 4 KiB as a chunk: ${fmtInt(rungs.putChunk.opsPerSecond)} ops/s, server CPU ${fmtUs(rungs.putChunk.usage.serverCpuSeconds / rungs.putChunk.count)} per request`);
    }
    const { signSeconds, verifySeconds, verifyV2Seconds } = await signaturesAlone(o.root);
    return { floor, rungs: rungs as Record<RungName, Rung>, signSeconds, verifySeconds, verifyV2Seconds, concurrency: o.concurrency };
  } finally {
    client.close();
  }
}

/** 4 KiB PUTs on the server that stores every body as a chunk file, after a warm-up. */
async function chunkRung(o: RequestOptions, bodies: Buffer[]): Promise<Rung> {
  const server = o.chunkServer!;
  const client = new S3Http(server.url, o.root, o.concurrency);
  const put = (prefix: string) => async (i: number) =>
    expectOk(await client.request({ method: 'PUT', bucket: o.bucket, key: `${prefix}/${i}`, body: bodies[i] }), `PUT ${prefix}/${i} (chunk)`);
  try {
    await runOps('warm-up', [server.pid], [client], 100, o.concurrency, put('warmup-chunk'));
    return await runOps('PUT 4 KiB as chunk', [server.pid], [client], o.count, o.concurrency, put('chunk'));
  } finally {
    client.close();
  }
}

/** The same GETs against a bare node:http server in a process of its own: what the kernel and
 * Node's HTTP cost per request, under any framework. */
async function floorRung(o: RequestOptions): Promise<OpsResult> {
  const script = `require('node:http').createServer((q, s) => { q.resume(); s.setHeader('content-type', 'application/json'); s.end('{"status":"ok"}'); })
    .listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const url = /listening on (\S+)/.exec(line.toString())?.[1];
    if (!url) throw new Error(`the node:http floor server said: ${line.toString()}`);
    const client = new S3Http(url, o.root, o.concurrency);
    try {
      return await runOps('node:http', [child.pid!], [client], o.count, o.concurrency, async () =>
        expectOk(await client.request({ method: 'GET', bucket: '_rfs', key: 'health', anonymous: true }), 'node:http GET'),
      );
    } finally {
      client.close();
    }
  } finally {
    child.kill('SIGKILL');
  }
}

/** Signatures alone, in this process: the bench's SigV4 signer and the gateway's verifiers of
 * SigV4 and SigV2 (with a fixed identity: no database), on the headers of one HEAD request. */
async function signaturesAlone(root: Credentials): Promise<{ signSeconds: number; verifySeconds: number; verifyV2Seconds: number }> {
  const N = 20_000;
  const signer = new SigV4Signer(root);
  const path = encodePath('bench', 'small/000123');
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let t = cpu();
  let headers: Record<string, string> = {};
  for (let i = 0; i < N; i++) headers = signer.sign({ method: 'HEAD', host: '127.0.0.1:9000', path });
  const signSeconds = (cpu() - t) / N;
  const identity = new StaticIdentity([{ ...root, owner: 'bench', displayName: 'bench' }]);
  const input = { method: 'HEAD', rawPath: path, rawQuery: '', headers, rawHeaders: Object.entries(headers).flat() };
  t = cpu();
  for (let i = 0; i < N; i++) {
    const r = await authenticate(input, identity);
    if (r.principal.anonymous) throw new Error('the gateway verifier did not accept the bench signer');
  }
  const verifySeconds = (cpu() - t) / N;
  const date = new Date().toUTCString();
  const v2 = stringToSignV2({ method: 'HEAD', contentMd5: '', contentType: '', date, amzHeaders: '', resource: path });
  const v2Headers = { host: '127.0.0.1:9000', date, authorization: `AWS ${root.accessKeyId}:${signV2(root.secretKey, v2)}` };
  const v2Input = { method: 'HEAD', rawPath: path, rawQuery: '', headers: v2Headers, rawHeaders: Object.entries(v2Headers).flat(), sigv2: {} };
  t = cpu();
  for (let i = 0; i < N; i++) {
    const r = await authenticate(v2Input, identity);
    if (r.principal.anonymous) throw new Error('the gateway SigV2 verifier did not accept the request');
  }
  return { signSeconds, verifySeconds, verifyV2Seconds: (cpu() - t) / N };
}

// ---------- report ----------

const perOp = (r: OpsResult) => ({
  tree: r.usage.serverCpuSeconds / r.count,
  rfs: r.usage.rfsCpuSeconds / r.count,
  pg: r.usage.childCpuSeconds / r.count,
  client: r.usage.clientCpuSeconds / r.count,
});

export function reportRequests(c: RequestCosts, cores: number): void {
  heading(`Small requests, stage by stage (4 KiB objects inline in their row, ${fmtInt(c.rungs.put.count)} requests per rung at concurrency ${c.concurrency})`);
  const r = c.rungs;
  const rows: [string, OpsResult, OpsResult | undefined, string][] = [
    ['node:http alone (no framework)', c.floor, undefined, 'HTTP floor: kernel + Node, other process'],
    ['GET /_rfs/health', r.health, undefined, 'HTTP: fastify + rfs hooks'],
    ['GET missing key (404)', r.getMissing, r.health, 'SigV4, routing, bucket, key filter'],
    ['HEAD missing key (404)', r.headMissing, r.health, 'same, answered without a body'],
    ['HEAD 4 KiB', r.head, r.getMissing, 'metadata read (vs GET missing)'],
    ['GET 4 KiB', r.get, r.head, '4 KiB body out (vs HEAD)'],
    ['PUT 4 KiB', r.put, r.head, 'body in, MD5, commit (vs HEAD)'],
  ];
  if (r.putChunk) rows.push(['PUT 4 KiB as a chunk file', r.putChunk, r.put, 'chunk file + fsyncs (vs inline PUT)']);
  const body = rows.map(([label, x, base, stage]) => {
    const p = perOp(x);
    return [
      label,
      fmtInt(x.opsPerSecond),
      fmtMs(x.p50Ms),
      fmtMs(x.p99Ms),
      fmtUs(p.tree),
      fmtUs(p.rfs),
      fmtUs(p.pg),
      base ? `${p.tree >= perOp(base).tree ? '+' : '−'}${fmtUs(Math.abs(p.tree - perOp(base).tree))}` : '',
      stage,
      (x.connections / x.count).toFixed(2),
      fmtUs(p.client),
    ];
  });
  say(table(['request', 'ops/s', 'p50', 'p99', 'server CPU/req', 'rfs', 'PostgreSQL', 'Δ CPU', 'stage the Δ adds', 'new conns/req', 'bench CPU/req'], body, 'lrrrrrrrlrr'));
  say(
    `  CPU per request = (utime+stime) of the whole server tree over the rung ÷ requests; PostgreSQL = the rfs process's descendants, ` +
      `exited ones included through cutime/cstime (read at the start and end of each rung, no sampling).`,
  );
  say(`  SigV4 alone, in this process: signing ${fmtUs(c.signSeconds)}, the gateway's verifier (authenticate(), no database) ${fmtUs(c.verifySeconds)} per request.`);
  say(`  SigV2 (older clients) verified on the same request: ${fmtUs(c.verifyV2Seconds)}, ${(c.verifyV2Seconds / c.verifySeconds).toFixed(2)}× SigV4's.`);
  if (r.putChunk) say('  PUT 4 KiB as a chunk file: a second server started with RFS_INLINE_MAX_BYTES=0, so the body is a chunk written and fsynced (file and directory) before the metadata commit.');
  const retried = Object.values(r).reduce((a, x) => a + x.retries, 0);
  if (retried) say(`  The bench re-sent ${fmtInt(retried)} request(s) answered 500/503 (PUT: ${fmtInt(r.put.retries)}), as an SDK would; the server log below says why.`);

  say('\n  Where the time goes:');
  for (const [name, x] of [['PUT', r.put], ['GET', r.get], ['HEAD', r.head]] as const) {
    const p = perOp(x);
    const http = perOp(r.health).tree;
    const auth = Math.max(0, perOp(r.getMissing).tree - http);
    const meta = Math.max(0, perOp(r.head).tree - perOp(r.getMissing).tree);
    const rest = Math.max(0, p.tree - http - auth - meta);
    const restLabel = name === 'PUT' ? 'body in + MD5 + commit' : name === 'GET' ? 'body out' : 'rest';
    const parts = [['HTTP', http], ['SigV4+routing+filter', auth], ['metadata read', meta], [restLabel, rest]] as const;
    const u = x.usage;
    const idle = Math.max(0, 1 - u.machineBusySeconds / u.machineSeconds);
    const others = Math.max(0, u.machineBusySeconds - u.serverCpuSeconds - u.clientCpuSeconds) / u.machineSeconds;
    say(
      `  ${name}: ${fmtUs(p.tree)} of server CPU = ${parts.filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmtPct(v / p.tree)}`).join(', ')}; ` +
        `PostgreSQL is ${fmtPct(p.pg / p.tree)} of it. The ${cores} cores during the rung: server ${fmtPct(u.serverCpuSeconds / u.machineSeconds)}, ` +
        `bench ${fmtPct(u.clientCpuSeconds / u.machineSeconds)}, other processes ${fmtPct(others)}, idle ${fmtPct(idle)}` +
        `${idle > 0.2 ? ' (idle cores at concurrency 16: requests wait — on locks, fsync, retry backoff — rather than compute)' : ''}.`,
    );
  }
  const put = r.put.xact;
  if (put) {
    say(
      `  PUT: ${(put.commits / r.put.count).toFixed(2)} transactions committed and ${(put.rollbacks / r.put.count).toFixed(2)} rolled back per PUT ` +
        `(pg_stat_database; a rollback is a SERIALIZABLE conflict the gateway retries, with backoff: PUT p99 ${fmtMs(r.put.p99Ms)}).`,
    );
  }
  const hm = r.headMissing;
  if (hm.connections / hm.count > 0.5) {
    say(
      `  HEAD of a missing key opened ${(hm.connections / hm.count).toFixed(2)} TCP connections per request: its 404 carries neither Content-Length nor ` +
        `Transfer-Encoding, and Node's http client (the SDK's) does not keep such a response's connection alive.`,
    );
  }
}
