import { rm } from 'node:fs/promises';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { objectBytes, pseudoRandom, s3Client, s3Error, startTestServer, tempDataDir, type TestServer } from '../harness';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy';
import { MiB } from '../storage/disk';
import { flushRedisDb } from './redis-db';
import { createTestDatabase } from '../../metadata/pg.testing';

/**
 * The database or Redis going away under a running gateway, simulated by cutting a TCP proxy
 * between them (the machine's PostgreSQL and Redis are shared and never restarted). While
 * PostgreSQL is gone, S3 calls get 503 ServiceUnavailable with Retry-After, at once, never a
 * hang; when it is back they succeed again without restarting rfs, and nothing acknowledged is
 * lost. While Redis is gone, the gateway serves from the database.
 */
const REDIS = new URL(process.env.RFS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
const bucket = 'outage';

let database: { url: string; drop(): Promise<void> };
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let server: TestServer;
let dataDir: string;
let s3: S3Client;
/** Fails at the first error: the SDK would otherwise retry the 503s these tests look at. */
let once: S3Client;

beforeAll(async () => {
  database = await createTestDatabase(`rfs_outage_${process.pid}`);
  const pg = new URL(database.url);
  pgProxy = await startTcpProxy(pg.hostname, Number(pg.port || 5432));
  redisProxy = await startTcpProxy(REDIS.hostname, Number(REDIS.port || 6379));
  pg.port = String(pgProxy.port);
  dataDir = await tempDataDir('outage');
  server = await startTestServer({ RFS_DATABASE_URL: pg.toString(), RFS_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/12` }, dataDir);
  s3 = s3Client(server.url);
  once = s3Client(server.url, undefined, { maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

afterAll(async () => {
  s3?.destroy();
  once?.destroy();
  await server?.close();
  await Promise.all([pgProxy?.close(), redisProxy?.close()]);
  await database?.drop();
  await flushRedisDb(12);
  await rm(dataDir, { recursive: true, force: true });
});

test('DatabaseGone_503: S3 calls answer ServiceUnavailable with Retry-After while PostgreSQL is unreachable, and work again once it is back', async () => {
  const before = pseudoRandom(2 * MiB, 41);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'acknowledged', Body: before }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'kept' }));

  pgProxy.cut();
  const started = Date.now();
  for (const call of [
    () => once.send(new PutObjectCommand({ Bucket: bucket, Key: 'during', Body: 'lost?' })),
    () => once.send(new HeadObjectCommand({ Bucket: bucket, Key: 'acknowledged' })),
    () => once.send(new ListObjectsV2Command({ Bucket: bucket })),
  ]) {
    const e = await s3Error(call());
    expect({ name: e.name, status: e.status }).toEqual(expect.objectContaining({ status: 503 }));
    if (e.name !== 'Unknown') expect(e.name).toBe('ServiceUnavailable'); // HEAD answers carry no body, so no code
    expect(e.headers['retry-after']).toBe('1');
  }
  expect(Date.now() - started).toBeLessThan(15_000); // answered, not hung
  const metrics = await (await fetch(`${server.url}/_rfs/metrics`)).text();
  expect(metrics).toMatch(/rfs_metadata_unavailable_total [1-9]/);

  pgProxy.restore();
  // The pool reconnects by itself; the SDK's own retries cover the first attempt.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'back' }));
  expect((await objectBytes(s3, bucket, 'acknowledged')).equals(before)).toBe(true);
  expect((await objectBytes(s3, bucket, 'small')).toString()).toBe('kept');
  expect((await objectBytes(s3, bucket, 'after')).toString()).toBe('back');
  const keys = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key);
  expect(keys).toEqual(expect.arrayContaining(['acknowledged', 'after', 'small']));
  // The PUT refused with 503 stored nothing.
  expect(keys).not.toContain('during');
});

test('RedisGone_servesFromDatabase: with Redis unreachable, writes and reads go on (every filter answer is "maybe"), and the filter is rebuilt when it returns', async () => {
  redisProxy.cut();
  const started = Date.now();
  await once.send(new PutObjectCommand({ Bucket: bucket, Key: 'while-redis-down', Body: 'written' }));
  expect((await objectBytes(once, bucket, 'while-redis-down')).toString()).toBe('written');
  expect((await s3Error(once.send(new HeadObjectCommand({ Bucket: bucket, Key: 'never-written' })))).status).toBe(404);
  expect(Date.now() - started).toBeLessThan(10_000);
  const metrics = await (await fetch(`${server.url}/_rfs/metrics`)).text();
  expect(metrics).toMatch(/rfs_redis_errors_total\{op="[a-z]+"\} [1-9]/);

  redisProxy.restore();
  // The key written while Redis was away is never reported absent, then or after a rebuild.
  for (let i = 0; i < 30; i++) {
    expect((await once.send(new HeadObjectCommand({ Bucket: bucket, Key: 'while-redis-down' }))).ContentLength).toBe(7);
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.rfs!.objects.rebuildFilter();
  expect((await once.send(new HeadObjectCommand({ Bucket: bucket, Key: 'while-redis-down' }))).ContentLength).toBe(7);
  expect((await s3Error(once.send(new HeadObjectCommand({ Bucket: bucket, Key: 'never-written' })))).status).toBe(404);
});
