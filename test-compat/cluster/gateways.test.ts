import http from 'node:http';
import { rm } from 'node:fs/promises';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { objectBytes, pseudoRandom, s3Client, s3Error, startChildServer, startTestServer, tempDataDir, type ChildServer, type TestServer } from '../harness';
import { signRequest } from '../http/signing';
import { MiB } from '../storage/disk';
import { flushRedisDb, redisDbUrl } from './redis-db';
import { MASTER_KEY } from './nodes';
import { createTestDatabase } from '../../metadata/pg.testing';

/**
 * Several gateways, one truth: two rfs gateways on one PostgreSQL (CockroachDB's stand-in,
 * CockroachDB-compatible SQL), one Redis and one shared chunk directory, driven through
 * both at once. The machine's PostgreSQL and Redis are shared: this suite uses a database and
 * a Redis database number of its own and never restarts either.
 */
const REDIS_URL = redisDbUrl(11);
const bucket = 'shared';

let database: { url: string; drop(): Promise<void> };
let chunksDir: string;
let dataDirs: string[] = [];
let gateways: TestServer[] = [];
let a: S3Client;
let b: S3Client;

/** Environment that makes a gateway a member of the cluster. */
function clusterEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { RFS_DATABASE_URL: database.url, RFS_REDIS_URL: REDIS_URL, RFS_CHUNKS_DIR: chunksDir, RFS_MASTER_KEY: MASTER_KEY, ...extra };
}

beforeAll(async () => {
  database = await createTestDatabase(`rfs_cluster_${process.pid}`);
  chunksDir = await tempDataDir('cluster-chunks');
  dataDirs = [await tempDataDir('cluster-a'), await tempDataDir('cluster-b')];
  // Both start at once on a new database: the migrations lease lets one of them migrate.
  const started = await Promise.allSettled(dataDirs.map((d) => startTestServer(clusterEnv(), d)));
  gateways = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  for (const s of started) if (s.status === 'rejected') throw s.reason; // afterAll stops the one that started
  [a, b] = gateways.map((g) => s3Client(g.url));
  await a.send(new CreateBucketCommand({ Bucket: bucket }));
});

afterAll(async () => {
  a?.destroy();
  b?.destroy();
  await Promise.all(gateways.map((g) => g.close()));
  await database?.drop();
  await flushRedisDb(11);
  await Promise.all([chunksDir, ...dataDirs].map((d) => rm(d, { recursive: true, force: true })));
});

test('PutObject_readAfterWrite: written through one gateway, read and listed through the other at once', async () => {
  const big = pseudoRandom(3 * MiB, 21);
  await a.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/big', Body: big }));
  expect((await objectBytes(b, bucket, 'raw/big')).equals(big)).toBe(true);
  for (let i = 0; i < 20; i++) {
    const key = `raw/small-${i}`;
    await (i % 2 ? a : b).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `v${i}` }));
    expect((await objectBytes(i % 2 ? b : a, bucket, key)).toString()).toBe(`v${i}`);
  }
  const listed = await b.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'raw/' }));
  expect(listed.KeyCount).toBe(21);
  await b.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'raw/small-3' }));
  expect((await s3Error(a.send(new HeadObjectCommand({ Bucket: bucket, Key: 'raw/small-3' })))).status).toBe(404);
});

test('HeadObject_sharedFilter: a key committed through one gateway is never "absent" at the other (Redis Bloom filter)', async () => {
  // The other gateway probes keys as they are being written: once a PUT is acknowledged,
  // every later HEAD must find it; a filter that learned of a key only after its commit
  // would answer 404 here.
  const keys = Array.from({ length: 200 }, (_, i) => `probe/${i}`);
  let stop = false;
  const acknowledged = new Set<string>();
  const misses: string[] = [];
  const prober = (async () => {
    while (!stop) {
      for (const key of keys) {
        const known = acknowledged.has(key);
        const found = await b.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);
        if (known && !found) misses.push(key);
      }
    }
  })();
  for (const key of keys) {
    await a.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    acknowledged.add(key);
  }
  stop = true;
  await prober;
  expect(misses).toEqual([]);
});

test('PutObject_IfNoneMatch: the same create-only PUT through both gateways at once, exactly one wins', async () => {
  for (let round = 0; round < 5; round++) {
    const key = `exclusive/${round}`;
    const results = await Promise.allSettled([a, b].map((s3, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `gateway ${i}`, IfNoneMatch: '*' }))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toMatchObject({ name: expect.stringMatching(/PreconditionFailed|ConditionalRequestConflict/) });
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    expect((await objectBytes(winner ? a : b, bucket, key)).toString()).toBe(`gateway ${winner}`);
  }
});

test('Multipart_acrossGateways: created on one, parts through both, completed on the other', async () => {
  const parts = [pseudoRandom(5 * MiB, 31), pseudoRandom(5 * MiB, 32), pseudoRandom(MiB, 33)];
  const { UploadId } = await a.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu/whole' }));
  const etags = await Promise.all(
    parts.map((Body, i) => (i % 2 ? b : a).send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu/whole', UploadId, PartNumber: i + 1, Body }))),
  );
  await b.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: 'mpu/whole', UploadId,
      MultipartUpload: { Parts: etags.map((r, i) => ({ PartNumber: i + 1, ETag: r.ETag })) },
    }),
  );
  expect((await objectBytes(a, bucket, 'mpu/whole')).equals(Buffer.concat(parts))).toBe(true);
});

test('BucketSettings_invalidated: versioning turned on through one gateway is honoured by the other within 100 ms', async () => {
  await b.send(new PutObjectCommand({ Bucket: bucket, Key: 'settings/v', Body: 'before' })); // b has the bucket cached
  await a.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await new Promise((r) => setTimeout(r, 100));
  const put = await b.send(new PutObjectCommand({ Bucket: bucket, Key: 'settings/v', Body: 'after' }));
  expect(put.VersionId).toBeDefined();
  expect(put.VersionId).not.toBe('null');
  const versions = await a.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'settings/v' }));
  expect(versions.Versions?.map((v) => v.VersionId)).toEqual([put.VersionId, 'null']);
  await a.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
});

test('Crash_midUpload: kill -9 of a gateway mid-PUT leaves nothing visible through the other', async () => {
  const dir = await tempDataDir('cluster-c');
  const child: ChildServer = await startChildServer(dir, clusterEnv());
  try {
    await a.send(new PutObjectCommand({ Bucket: bucket, Key: 'crash/victim', Body: 'committed' }));
    const total = 64 * MiB;
    const s = await signRequest(child.url, { method: 'PUT', path: `/${bucket}/crash/victim`, headers: { 'content-length': String(total) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    const req = http.request(s.url, { method: 'PUT', headers: s.headers });
    req.on('error', () => undefined);
    for (let sent = 0; sent < 24 * MiB; sent += MiB) {
      if (!req.write(pseudoRandom(MiB, 500 + sent / MiB))) await new Promise((r) => req.once('drain', r));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.process.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    req.destroy();
    expect((await objectBytes(b, bucket, 'crash/victim')).toString()).toBe('committed');
    const listed = await b.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'crash/' }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([['crash/victim', 9]]);
  } finally {
    await child.stop();
    // Its embedded PostgreSQL was never started (RFS_DATABASE_URL): nothing is orphaned.
    await rm(dir, { recursive: true, force: true });
  }
});

test('GC_twoGateways: collection running in both on one chunk directory never takes a chunk a committed object needs', async () => {
  // Dedicated gateways with an aggressive GC (every second, two seconds' grace: longer than
  // any write here takes from its first chunk to its commit) on the shared store.
  const dirs = [await tempDataDir('cluster-gc1'), await tempDataDir('cluster-gc2')];
  const gc = await Promise.all(dirs.map((d) => startTestServer(clusterEnv({ RFS_GC_INTERVAL_SECONDS: '1', RFS_GC_GRACE_SECONDS: '2' }), d)));
  const [x, y] = gc.map((g) => s3Client(g.url));
  try {
    const bodies = new Map<string, Buffer>();
    // Writers through both while both collect; half the objects are deleted again.
    await Promise.all(
      [x, y].map(async (s3, w) => {
        for (let i = 0; i < 12; i++) {
          const key = `gc/${w}-${i}`;
          const body = pseudoRandom(MiB + 4096 * i, 700 + w * 100 + i);
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          if (i % 2) await (w ? x : y).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
          else bodies.set(key, body);
          await new Promise((r) => setTimeout(r, 150));
        }
      }),
    );
    const deleted = async () => Number(/^rfs_gc_deleted_chunks_total (\d+)/m.exec(await (await fetch(`${gc[0].url}/_rfs/metrics`)).text())?.[1]);
    // The deleted objects' chunks go (both gateways count into one registry in this process).
    for (let i = 0; i < 100 && (await deleted()) < 12; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await deleted()).toBeGreaterThanOrEqual(12);
    for (const [key, body] of bodies) expect((await objectBytes(key.startsWith('gc/0') ? y : x, bucket, key)).equals(body)).toBe(true);
  } finally {
    x.destroy();
    y.destroy();
    await Promise.all(gc.map((g) => g.close()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
});
