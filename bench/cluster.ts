import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, dropTestDatabase } from '../metadata/pg.testing';
import { RemoteChunkStore } from '../storage-node/remote-store';
import { KiB, MiB, RandomBytes, randomPieces } from './data';
import { fmtInt, fmtMiB, fmtRate, fmtRatio, fmtSize, fmtUs, heading, mb, say, table } from './format';
import { expectOk, S3Http } from './http';
import { runOps, sumUsage, type OpsResult } from './ops';
import { backendPids } from './pg';
import { PhaseMonitor, readStat, totalPss, type PhaseUsage } from './proc';
import { onInterrupt, startServer, type BenchServer } from './server';
import type { Credentials } from './sigv4';

/**
 * `npm run bench -- --cluster`: the storage-node tier on this machine, as its whole process
 * tree: one gateway, the storage nodes (each its own process, zones a, b, c, d), and the
 * machine PostgreSQL's backends serving the bench's database (`rfs_bench_cluster_<pid>_*`,
 * dropped afterwards). Every storage node and the gateway are children of the bench; CPU is
 * summed over all of them.
 *
 * - R = 3 against R = 1 (a fresh cluster each): PUT and GET of one large object (256 MiB), and
 *   4 KiB PUT and GET at concurrency 16 with RFS_INLINE_MAX_BYTES=0, so small objects take the
 *   chunk path to the nodes too (inline, they would never reach a node);
 * - repair: with R = 3 on 4 nodes, `repairBytes` stored, one node killed with SIGKILL; the time
 *   until every chunk has 3 copies again and the copy rate (RFS_NODE_DOWN_AFTER = 3 s,
 *   RFS_REPAIR_MBPS = 0: unthrottled);
 * - the PSS of one storage node idle, and its peak during an upload of `nodeUploadBytes`.
 */

export interface ClusterSizes {
  objectBytes: number;
  smallOps: number;
  repairBytes: number;
  nodeUploadBytes: number;
}

interface TierRun {
  replicas: number;
  put: Stream;
  get: Stream;
  smallPut: OpsResult;
  smallGet: OpsResult;
}

interface Stream {
  mbps: number;
  usage: PhaseUsage;
  gatewayCpu: number;
  nodesCpu: number;
  dbCpu: number;
}

export interface ClusterResult {
  runs: TierRun[];
  repair: { bytes: number; copiedBytes: number; detectSeconds: number; repairSeconds: number; chunks: number } | string;
  node: { idlePss: number; peakPss: number; uploadBytes: number };
}

const BUCKET = 'bench';
const CONCURRENCY = 16;
const ZONES = ['a', 'b', 'c', 'd'];

interface Cluster {
  gateway: BenchServer;
  nodes: BenchServer[];
  db: { url: string; name: string };
  secret: string;
  client: S3Http;
  pids(): number[];
  dbCpu(): Promise<() => number>;
  stop(): Promise<void>;
}

async function startCluster(root: Credentials, adminUrl: string, tag: string, nodeCount: number, env: Record<string, string>): Promise<Cluster> {
  const name = `rfs_bench_cluster_${process.pid}_${tag}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), `rfs-bench-cluster-${tag}-`));
  const servers: BenchServer[] = [];
  const forget = onInterrupt(() => Promise.allSettled([dropTestDatabase(name, adminUrl), rm(dir, { recursive: true, force: true })]));
  const stop = async () => {
    for (const s of servers.reverse()) await s.stop();
    await dropTestDatabase(name, adminUrl).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    forget();
  };
  try {
    const db = { ...(await createTestDatabase(name, adminUrl)), name };
    const secret = randomBytes(24).toString('base64url');
    const common = { RFS_DATABASE_URL: db.url, RFS_CLUSTER_SECRET: secret, RFS_NODE_HEARTBEAT_SECONDS: '1' };
    const nodes: BenchServer[] = [];
    for (let i = 0; i < nodeCount; i++) {
      const zone = ZONES[i];
      const node = await startServer(path.join(dir, `node-${zone}`), root, {
        ...common, RFS_NODE_DIR: path.join(dir, `node-${zone}`), RFS_NODE_ID: `bench-${zone}`, RFS_NODE_ZONE: zone, RFS_NODE_PORT: '0', RFS_SCRUB_MBPS: '0',
      }, [], 'storage-node/main.js');
      servers.push(node);
      nodes.push(node);
    }
    const gateway = await startServer(path.join(dir, 'gateway'), root, { ...common, RFS_INLINE_MAX_BYTES: '0', ...env });
    servers.push(gateway);
    const client = new S3Http(gateway.url, root, CONCURRENCY);
    // The gateway reads the membership at start; a 503 until it has seen every node.
    for (let i = 0; ; i++) {
      const res = await client.request({ method: 'PUT', bucket: BUCKET });
      if (res.status === 200 || res.status === 409) break;
      if (i > 50) expectOk(res, 'CreateBucket');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (let i = 0; ; i++) {
      const res = await client.request({ method: 'PUT', bucket: BUCKET, key: 'probe', body: Buffer.alloc(KiB) });
      if (res.status === 200) break;
      if (i > 50) expectOk(res, 'PUT probe');
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      gateway, nodes, db, secret, client,
      pids: () => [gateway.pid, ...nodes.map((n) => n.pid)],
      dbCpu: async () => {
        const pids = await backendPids(adminUrl, name);
        return () => pids.reduce((t, p) => t + (readStat(p)?.cpuSeconds ?? 0), 0);
      },
      async stop() {
        client.close();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** One large PUT or GET, with CPU split between the gateway, the nodes and the database. */
async function stream(c: Cluster, run: () => Promise<void>, bytes: number): Promise<Stream> {
  const dbCpu = await c.dbCpu();
  const db0 = dbCpu();
  const gateway = new PhaseMonitor(c.gateway.pid);
  const nodes = c.nodes.map((n) => new PhaseMonitor(n.pid));
  await run();
  const g = gateway.stop();
  const n = sumUsage(nodes.map((m) => m.stop()));
  const usage = sumUsage([g, n]);
  return { mbps: mb(bytes) / g.wallSeconds, usage, gatewayCpu: g.serverCpuSeconds, nodesCpu: n.serverCpuSeconds, dbCpu: dbCpu() - db0 };
}

async function tierRun(root: Credentials, adminUrl: string, replicas: number, sizes: ClusterSizes, progress: (line: string) => void): Promise<TierRun> {
  const c = await startCluster(root, adminUrl, `r${replicas}`, 3, { RFS_REPLICAS: String(replicas) });
  try {
    const key = 'large';
    const put = await stream(c, async () => {
      const res = await c.client.request({ method: 'PUT', bucket: BUCKET, key, body: randomPieces(sizes.objectBytes, MiB, 5), contentLength: sizes.objectBytes });
      expectOk(res, `PUT ${key}`);
    }, sizes.objectBytes);
    const get = await stream(c, async () => {
      let bytes = 0;
      const res = await c.client.request({ method: 'GET', bucket: BUCKET, key, sink: (p) => (bytes += p.length) });
      expectOk(res, `GET ${key}`);
      if (bytes !== sizes.objectBytes) throw new Error(`GET ${key}: ${bytes} bytes`);
    }, sizes.objectBytes);
    progress(`R=${replicas}: PUT ${fmtSize(sizes.objectBytes)} ${fmtRate(put.mbps)}, GET ${fmtRate(get.mbps)}`);
    const body = new RandomBytes(31 + replicas).next(4 * KiB);
    const small = (i: number) => `small/${i.toString().padStart(6, '0')}`;
    const pids = c.pids();
    const smallPut = await runOps('PUT', pids, [c.client], sizes.smallOps, CONCURRENCY, async (i) =>
      expectOk(await c.client.request({ method: 'PUT', bucket: BUCKET, key: small(i), body: Buffer.concat([body, Buffer.from(String(i))]) }), `PUT ${small(i)}`),
    );
    const smallGet = await runOps('GET', pids, [c.client], sizes.smallOps, CONCURRENCY, async (i) =>
      expectOk(await c.client.request({ method: 'GET', bucket: BUCKET, key: small(i) }), `GET ${small(i)}`),
    );
    progress(`R=${replicas}: 4 KiB PUT ${fmtInt(smallPut.opsPerSecond)} ops/s, GET ${fmtInt(smallGet.opsPerSecond)} ops/s`);
    return { replicas, put, get, smallPut, smallGet };
  } finally {
    await c.stop();
  }
}

/** Every chunk's copies on the given nodes. */
async function copies(nodes: BenchServer[], secret: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const node of nodes) {
    const client = new RemoteChunkStore({ url: node.url, secret });
    try {
      for await (const c of client.inventory()) out.set(c.address, (out.get(c.address) ?? 0) + 1);
    } finally {
      await client.close();
    }
  }
  return out;
}

async function repairRun(root: Credentials, adminUrl: string, sizes: ClusterSizes, progress: (line: string) => void): Promise<ClusterResult['repair']> {
  const c = await startCluster(root, adminUrl, 'repair', 4, { RFS_REPLICAS: '3', RFS_NODE_DOWN_AFTER: '3', RFS_REPAIR_MBPS: '0', RFS_REPAIR_INTERVAL_SECONDS: '1' });
  try {
    const objects = Math.max(1, Math.round(sizes.repairBytes / (256 * MiB)));
    const each = Math.floor(sizes.repairBytes / objects);
    for (let i = 0; i < objects; i++) {
      expectOk(await c.client.request({ method: 'PUT', bucket: BUCKET, key: `fill/${i}`, body: randomPieces(each, MiB, 100 + i), contentLength: each }), `PUT fill/${i}`);
    }
    progress(`repair: ${fmtSize(sizes.repairBytes)} stored as ${objects} objects on 4 nodes with R=3`);
    const victim = c.nodes[3];
    const survivors = c.nodes.slice(0, 3);
    const copiedBefore = await repairCopiedBytes(c.gateway.url);
    const t0 = Date.now();
    victim.kill();
    let firstCopy = 0;
    let chunks = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!firstCopy && (await repairCopiedBytes(c.gateway.url)) > copiedBefore) firstCopy = Date.now();
      const held = await copies(survivors, c.secret);
      chunks = held.size;
      if ([...held.values()].every((n) => n >= 3)) break;
      if (Date.now() - t0 > 30 * 60_000) return 'repair did not finish within 30 minutes';
    }
    const done = Date.now();
    const copied = (await repairCopiedBytes(c.gateway.url)) - copiedBefore;
    const result = { bytes: sizes.repairBytes, copiedBytes: copied, detectSeconds: ((firstCopy || done) - t0) / 1000, repairSeconds: (done - (firstCopy || t0)) / 1000, chunks };
    progress(`repair: every chunk has 3 copies again ${((done - t0) / 1000).toFixed(1)} s after the kill; ${fmtSize(copied)} copied`);
    return result;
  } finally {
    await c.stop();
  }
}

async function repairCopiedBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/_rfs/metrics`)).text();
  return Number(/^rfs_repair_copied_bytes_total (\S+)/m.exec(text)?.[1] ?? 0);
}

async function nodeMemory(root: Credentials, adminUrl: string, sizes: ClusterSizes, progress: (line: string) => void): Promise<ClusterResult['node']> {
  const c = await startCluster(root, adminUrl, 'memory', 3, { RFS_REPLICAS: '3' });
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const node = c.nodes[0];
    const idle = new PhaseMonitor(node.pid);
    await new Promise((r) => setTimeout(r, 500));
    const idlePss = totalPss(idle.stop().endPss);
    const during = new PhaseMonitor(node.pid, { pssIntervalMs: 100 });
    expectOk(await c.client.request({ method: 'PUT', bucket: BUCKET, key: 'big', body: randomPieces(sizes.nodeUploadBytes, MiB, 9), contentLength: sizes.nodeUploadBytes }), 'PUT big');
    const peakPss = during.stop().peakPssBytes;
    progress(`storage node PSS: ${fmtMiB(idlePss)} idle, peak ${fmtMiB(peakPss)} during a ${fmtSize(sizes.nodeUploadBytes)} PUT`);
    return { idlePss, peakPss, uploadBytes: sizes.nodeUploadBytes };
  } finally {
    await c.stop();
  }
}

export async function clusterPhase(root: Credentials, adminUrl: string, sizes: ClusterSizes, progress: (line: string) => void): Promise<ClusterResult> {
  const r1 = await tierRun(root, adminUrl, 1, sizes, progress);
  const r3 = await tierRun(root, adminUrl, 3, sizes, progress);
  const repair = await repairRun(root, adminUrl, sizes, progress);
  const node = await nodeMemory(root, adminUrl, sizes, progress);
  return { runs: [r1, r3], repair, node };
}

export function reportCluster(r: ClusterResult, cores: number): void {
  heading('Storage-node tier (npm run bench -- --cluster): R=3 against R=1 on 3 local nodes');
  const [r1, r3] = r.runs;
  const rows = (label: string, pick: (t: TierRun) => Stream) => {
    const a = pick(r1);
    const b = pick(r3);
    return [label, fmtRate(a.mbps), fmtRate(b.mbps), fmtRatio(b.mbps / a.mbps), `${a.gatewayCpu.toFixed(2)} + ${a.nodesCpu.toFixed(2)} + ${a.dbCpu.toFixed(2)}`, `${b.gatewayCpu.toFixed(2)} + ${b.nodesCpu.toFixed(2)} + ${b.dbCpu.toFixed(2)}`];
  };
  say(table(['one object', 'R=1', 'R=3', 'R=3 / R=1', 'CPU s R=1 (gateway + nodes + db)', 'CPU s R=3'], [rows('PUT', (t) => t.put), rows('GET', (t) => t.get)], 'lrrrrr'));
  const put1 = r1.put;
  const put3 = r3.put;
  const extra = put3.usage.serverCpuSeconds - put1.usage.serverCpuSeconds;
  say(
    `  R=3 sends every chunk to three nodes: ${(put3.gatewayCpu - put1.gatewayCpu).toFixed(2)} s more gateway CPU (two more loopback sends per chunk) and ` +
      `${(put3.nodesCpu - put1.nodesCpu).toFixed(2)} s more node CPU (two more receives, BLAKE3 checks, compress probes and fsynced writes): ${extra.toFixed(2)} s in all, ` +
      `on ${cores} cores that the client's data generation also shares.`,
  );
  const ops = (o: OpsResult) => `${fmtInt(o.opsPerSecond)} ops/s, ${fmtUs(o.usage.serverCpuSeconds / o.count)} CPU/op`;
  say(table(['4 KiB (chunk path)', 'R=1', 'R=3', 'ops/s R=3 / R=1', 'CPU/op R=3 / R=1'], [
    ['PUT', ops(r1.smallPut), ops(r3.smallPut), fmtRatio(r3.smallPut.opsPerSecond / r1.smallPut.opsPerSecond), fmtRatio(r3.smallPut.usage.serverCpuSeconds / r3.smallPut.count / (r1.smallPut.usage.serverCpuSeconds / r1.smallPut.count))],
    ['GET', ops(r1.smallGet), ops(r3.smallGet), fmtRatio(r3.smallGet.opsPerSecond / r1.smallGet.opsPerSecond), fmtRatio(r3.smallGet.usage.serverCpuSeconds / r3.smallGet.count / (r1.smallGet.usage.serverCpuSeconds / r1.smallGet.count))],
  ], 'lrrrr'));
  say('  (CPU per op: the gateway and the storage nodes; the database backends are not in these rows)');
  if (typeof r.repair === 'string') say(`  repair: ${r.repair}`);
  else {
    say(
      `  repair after a node is lost (${fmtSize(r.repair.bytes)} stored, 4 nodes, R=3, ${fmtInt(r.repair.chunks)} chunks): first copy ${r.repair.detectSeconds.toFixed(1)} s after the kill ` +
        `(heartbeats lapse + RFS_NODE_DOWN_AFTER=3 s), then ${r.repair.repairSeconds.toFixed(1)} s until every chunk had 3 copies: ${fmtSize(r.repair.copiedBytes)} copied at ` +
        `${fmtRate(mb(r.repair.copiedBytes) / Math.max(r.repair.repairSeconds, 0.001))}`,
    );
  }
  say(`  one storage node, PSS: ${fmtMiB(r.node.idlePss)} idle, peak ${fmtMiB(r.node.peakPss)} during a ${fmtSize(r.node.uploadBytes)} PUT (target: under 150 MiB, flat)`);
}
