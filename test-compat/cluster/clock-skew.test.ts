import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../../metadata/pg.testing';
import { objectBytes, pseudoRandom, s3Client, startTestServer, type TestServer } from '../harness';
import { freePort, holdersOver, killNodeTree, nodeClockOffset, nodeGatewayEnv, startChildNode, startedInto, type ChildNode } from './nodes';

/**
 * Storage nodes whose clocks are wrong by minutes: three child-process nodes, one under
 * faketime at +5 minutes, one at −5 minutes, one on the true clock, behind a gateway with a
 * GC grace period of 2 s. A node stamps chunk leases with its own clock; the gateway turns
 * them into its clock (and its cutoffs into the node's) with the node's time every answer
 * carries. Wrong there, a skewed node would lose chunks a PUT just claimed, or keep garbage
 * five minutes too long. Membership and job leases use the database's clock, which skew on
 * a node cannot move.
 *
 * Membership in PostgreSQL (CockroachDB's stand-in: CockroachDB-compatible SQL), a database of
 * the suite's own. Needs faketime (Debian's faketime package); without it the suite is
 * skipped with a warning, and under CI=true it fails instead.
 */
const CI = process.env.CI === 'true';
const SKEW_MS = 5 * 60_000;
const GRACE_MS = 2000;
const bucket = 'skew';

let skipped: string | undefined;
let database: { url: string; drop(): Promise<void> };
let nodes: ChildNode[] = [];
let gateway: TestServer;
let s3: S3Client;

function faketimeMissing(): string | undefined {
  try {
    execFileSync('faketime', ['-f', '+5m', 'true'], { stdio: 'ignore', timeout: 10_000 });
    return undefined;
  } catch (e) {
    return `faketime is not usable (apt-get install faketime): ${(e as Error).message}`;
  }
}

/** Runs the test unless the suite is skipped, in which case it says so loudly. */
function skewTest(name: string, fn: () => Promise<void>, timeout?: number): void {
  test(name, async () => {
    if (skipped !== undefined) {
      console.warn(`SKIPPED ${name}: ${skipped}`);
      return;
    }
    await fn();
  }, timeout);
}

const gc = () => gateway.rfs!.gc;
const meta = () => gateway.rfs!.stores.meta;

/** The repair queue as rows, whatever their due time (dueRepairs lists only the due ones). */
async function queuedRepairs(): Promise<Set<string>> {
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ address: string }>('SELECT address FROM chunk_repairs');
    return new Set(rows.map((r) => r.address));
  } finally {
    await client.end();
  }
}

/** The chunks a call added to the nodes. */
async function newChunks(fn: () => Promise<unknown>): Promise<string[]> {
  const before = await holdersOver(nodes);
  await fn();
  return [...(await holdersOver(nodes)).keys()].filter((a) => !before.has(a));
}

beforeAll(async () => {
  skipped = faketimeMissing();
  if (skipped !== undefined) {
    if (CI) throw new Error(`clock-skew suite cannot run under CI: ${skipped}`);
    console.warn(`SKIPPING the clock-skew suite: ${skipped}`);
    return;
  }
  database = await createTestDatabase(`rfs_clock_skew_${process.pid}`);
  const ports = [await freePort(), await freePort(), await freePort()];
  await startedInto(nodes, [
    startChildNode(database.url, 'skew-ahead', 'a', { port: ports[0], wrap: ['faketime', '-f', '+5m'] }),
    startChildNode(database.url, 'skew-behind', 'b', { port: ports[1], wrap: ['faketime', '-f', '-5m'] }),
    startChildNode(database.url, 'skew-true', 'c', { port: ports[2] }),
  ]);
  gateway = await startTestServer(nodeGatewayEnv(database.url, {
    RFS_REPLICAS: '3', RFS_WRITE_QUORUM: '2',
    RFS_GC_GRACE_SECONDS: String(GRACE_MS / 1000), RFS_GC_INTERVAL_SECONDS: '3600', RFS_REPAIR_INTERVAL_SECONDS: '3600',
    // Small chunks: many leases per object, so GC and writers meet on many chunks.
    RFS_CHUNK_MIN_BYTES: '16384', RFS_CHUNK_AVG_BYTES: '32768', RFS_CHUNK_MAX_BYTES: '65536', RFS_INLINE_MAX_BYTES: '4096',
  }));
  s3 = s3Client(gateway.url, undefined, { maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}, 90_000);

afterAll(async () => {
  s3?.destroy();
  await gateway?.close();
  // faketime runs the node as its child and passes no signal on: kill the whole tree.
  await Promise.all(nodes.map((n) => killNodeTree(n)));
  await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  await database?.drop();
}, 60_000);

skewTest('ClockSkew_nodeClocks: the nodes really run 5 minutes ahead and behind, and all three count as up (heartbeats on the database clock)', async () => {
  const offsets = await Promise.all(nodes.map((n) => nodeClockOffset(n.url)));
  console.log(`clock skew: node clocks minus ours: ${nodes.map((n, i) => `${n.id} ${Math.round(offsets[i])} ms`).join(', ')}`);
  // faketime took effect, or this suite would prove nothing.
  expect(Math.abs(offsets[0] - SKEW_MS)).toBeLessThan(10_000);
  expect(Math.abs(offsets[1] + SKEW_MS)).toBeLessThan(10_000);
  expect(Math.abs(offsets[2])).toBeLessThan(2000);
  const membership = gateway.rfs!.stores.cluster!.membership;
  await membership.refresh();
  const rows = membership.all();
  expect(rows.map((n) => n.id).sort()).toEqual(['skew-ahead', 'skew-behind', 'skew-true']);
  for (const n of rows) expect({ id: n.id, alive: n.alive, recent: n.silentMs < 1000 }).toEqual({ id: n.id, alive: true, recent: true });
});

skewTest('ClockSkew_gcAfterGrace: a deleted object\'s chunks survive a GC pass right after the delete, and are gone from every node within seconds after the grace period', async () => {
  const keeper = pseudoRandom(512 * 1024, 41);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'keeper', Body: keeper }));
  const body = pseudoRandom(mebibytes(1), 42);
  const doomed = await newChunks(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doomed', Body: body })));
  expect(doomed.length).toBeGreaterThan(10);
  const onAll = await holdersOver(nodes);
  for (const a of doomed) expect({ a, copies: onAll.get(a)?.length }).toEqual({ a, copies: 3 });
  // Old enough leases that only the grace period after the delete holds them back.
  await new Promise((r) => setTimeout(r, GRACE_MS + 200));

  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doomed' }));
  const deletedAt = Date.now();
  const early = await gc().runOnce();
  expect(Date.now() - deletedAt).toBeLessThan(GRACE_MS); // that pass ran within the grace period
  expect(early).toBeDefined();
  const right = await holdersOver(nodes);
  expect(doomed.filter((a) => right.get(a)?.length !== 3)).toEqual([]);

  // Passes until every node is rid of them.
  let goneAfter: number | undefined;
  while (Date.now() - deletedAt < 15_000) {
    await gc().runOnce();
    const held = await holdersOver(nodes);
    if (doomed.every((a) => !held.has(a))) {
      goneAfter = Date.now() - deletedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`clock skew: deleted object's ${doomed.length} chunks gone from all three nodes ${goneAfter} ms after the delete`);
  expect(goneAfter).toBeDefined();
  // Not before the grace period, not minutes after it (a node's own clock must not move it).
  expect(goneAfter!).toBeGreaterThanOrEqual(GRACE_MS);
  expect(goneAfter!).toBeLessThan(10_000);
  expect((await objectBytes(s3, bucket, 'keeper')).equals(keeper)).toBe(true);
});

skewTest('ClockSkew_putRacingGc: objects written, and deleted content written again, while GC passes run back to back all read back, each chunk on 3 nodes or queued for repair', async () => {
  // Content that becomes garbage first: GC will be deleting these very chunks while a writer
  // stores the same bytes again (a PUT of a chunk a node already holds renews its lease
  // there, and that lease, in the node's clock, must stop the node's delete).
  const reused = Array.from({ length: 12 }, (_, i) => pseudoRandom(mebibytes(0.5) + 40_000 * i, 500 + i));
  for (const [i, body] of reused.entries()) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `garbage/${i}`, Body: body }));
  // Leases older than the grace period: only the grace period after the delete holds them.
  await new Promise((r) => setTimeout(r, GRACE_MS + 200));
  for (let i = 0; i < reused.length; i++) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `garbage/${i}` }));

  let stop = false;
  let passes = 0;
  let deleted = 0;
  const collector = (async () => {
    while (!stop) {
      const report = await gc().runOnce();
      passes++;
      deleted += report?.deleted ?? 0;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const written = new Map<string, Buffer>();
  try {
    await Promise.all([
      // The same content again from just before the garbage becomes collectable to after:
      // some writes renew leases GC is about to act on, some meet chunks half deleted, the
      // last ones write them afresh.
      (async () => {
        await new Promise((r) => setTimeout(r, GRACE_MS - 600));
        for (const [i, body] of reused.entries()) {
          const key = `again/${i}`;
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          written.set(key, body);
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      // New content throughout.
      (async () => {
        for (let i = 0; i < 16; i++) {
          const key = `fresh/${i}`;
          const body = pseudoRandom(200_000 + 50_000 * (i % 5), 900 + i);
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          written.set(key, body);
          await new Promise((r) => setTimeout(r, 150));
        }
      })(),
    ]);
    // GC keeps running a grace period and more after the last write.
    await new Promise((r) => setTimeout(r, GRACE_MS + 1000));
  } finally {
    stop = true;
    await collector;
  }
  console.log(`clock skew: ${passes} GC passes during the writes deleted ${deleted} chunks; ${written.size} objects to check`);
  expect(passes).toBeGreaterThan(5);
  expect(deleted).toBeGreaterThan(0); // GC was deleting while the writers ran
  for (const [key, body] of written) expect({ key, same: (await objectBytes(s3, bucket, key)).equals(body) }).toEqual({ key, same: true });
  // Where the copies are: every chunk of a stored object on all three nodes, or, if a write
  // reached only W = 2 of them, in the repair queue (which is how a short write is never
  // forgotten). A replica GC took from under a writer would be neither.
  const held = await holdersOver(nodes);
  const queued = await queuedRepairs();
  const referenced = await meta().referencedChunks([...held.keys()]);
  expect(referenced.length).toBeGreaterThan(100);
  const short = referenced.filter((a) => held.get(a)!.length < 3);
  console.log(`clock skew: ${referenced.length} referenced chunks, ${short.length} on fewer than 3 nodes, ${queued.size} repair rows`);
  for (const a of short) expect({ a, copies: held.get(a)!.length, queued: queued.has(a) }).toEqual({ a, copies: 2, queued: true });
}, 60_000);

skewTest('ClockSkew_leases: the repair job takes its lease on the database clock and runs, and leaves every referenced chunk on all three nodes', async () => {
  const repair = gateway.rfs!.repair!;
  const report = await repair.runOnce();
  expect(report).toBeDefined(); // undefined would mean the lease was not taken
  // The job's lease row, on the database clock: started and released within this run.
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ age_ms: string; held_ms: string }>(
      `SELECT (extract(epoch FROM now() - started) * 1000)::INT8 AS age_ms, (extract(epoch FROM expires - started) * 1000)::INT8 AS held_ms
       FROM job_leases WHERE name = 'repair'`,
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].age_ms)).toBeLessThan(60_000);
    expect(Number(rows[0].held_ms)).toBeGreaterThanOrEqual(0);
  } finally {
    await client.end();
  }
  const meta_ = meta();
  for (let i = 0; i < 30 && (await meta_.cluster.repairBacklog()) > 0; i++) {
    await repair.runOnce();
    await new Promise((r) => setTimeout(r, 300));
  }
  expect(await meta_.cluster.repairBacklog()).toBe(0);
  const held = await holdersOver(nodes);
  const referenced = await meta_.referencedChunks([...held.keys()]);
  for (const a of referenced) expect({ a, copies: held.get(a)!.length }).toEqual({ a, copies: 3 });
  // And the GC lease is free again for the next pass (the loop above released it each time).
  expect(await gc().runOnce()).toBeDefined();
});

function mebibytes(n: number): number {
  return Math.round(n * 1024 * 1024);
}
