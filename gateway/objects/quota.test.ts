import { randomUUID } from 'node:crypto';
import { createTestDatabase } from '../../metadata/pg.testing';
import { PgClient } from '../../metadata/pg-client';
import { SqlMetadataStore } from '../../metadata/sql-store';
import type { Bucket, BucketUsage } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { s3Failure } from '../protocol/errors.testing';
import { QuotaGuard } from './quota';

/** QuotaGuard on a real PostgreSQL store: usage is the store's own scan, cached briefly. */
let database: { url: string; drop(): Promise<void> };
let store: SqlMetadataStore;
let reads = 0;
/** The store's bucketUsage, counted. */
const counted = { bucketUsage: (b: string): Promise<BucketUsage> => (reads++, store.bucketUsage(b)) };

async function put(bucket: string, key: string, size: number): Promise<void> {
  await store.putObject({
    bucket, key, id: randomUUID(), size, etag: '"e"', owner: 'o', headers: {}, userMetadata: {}, checksums: {}, tags: {},
    inline: Buffer.alloc(size), chunks: [],
  });
}

const bucket = async (name: string, quotaBytes?: number): Promise<Bucket> => ({ ...(await store.getBucket(name))!, quotaBytes });

beforeAll(async () => {
  database = await createTestDatabase(`rfs_quota_${process.pid}`);
  store = await SqlMetadataStore.open(new PgClient(database.url));
  for (const name of ['free', 'limited', 'stale', 'shared', 'parts']) await store.createBucket({ name, owner: 'o', region: 'us-east-1' });
});

afterAll(async () => {
  await store?.close();
  await database?.drop();
});

beforeEach(() => {
  reads = 0;
});

test('Quota_none: a bucket without a quota costs no usage read', async () => {
  const guard = new QuotaGuard(counted);
  await put('free', 'k', 500);
  for (let i = 0; i < 10; i++) await guard.check(await bucket('free'), 1e12);
  expect(reads).toBe(0);
});

test('Quota_limit: uploads fit up to the quota, exactly; one byte more is QuotaExceeded (403)', async () => {
  const guard = new QuotaGuard(counted);
  await put('limited', 'a', 300);
  const b = await bucket('limited', 1000);
  await guard.check(b, 700); // 300 + 700 = 1000: at the limit, not past it
  const e = await s3Failure(guard.check(b, 1));
  expect({ code: e.code, status: e.status }).toEqual({ code: 'QuotaExceeded', status: 403 });
  expect(reads).toBe(1); // the second check used the cached usage plus what the first let in
});

test('Quota_staleness: accepted bytes count until the next read; after it, the database is the truth (deletes free room)', async () => {
  const guard = new QuotaGuard(counted, 100);
  await put('stale', 'big', 800);
  const b = await bucket('stale', 1000);
  await guard.check(b, 150);
  await expect(guard.check(b, 100)).rejects.toThrow(S3Error); // 800 + 150 + 100 > 1000
  await store.deleteObject('stale', 'big');
  await expect(guard.check(b, 100)).rejects.toThrow(S3Error); // still within the window
  await new Promise((r) => setTimeout(r, 150));
  await guard.check(b, 900); // re-read: 0 stored, the 150 accepted before the read are in it (or never came)
  expect(reads).toBe(2);
});

test('Quota_concurrent: checks arriving together share one usage read, and together cannot pass the quota', async () => {
  const guard = new QuotaGuard(counted);
  const b = await bucket('shared', 1000);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => guard.check(b, 150)));
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(6);
  expect(reads).toBe(1);
});

test('Quota_complete: parts that each fit cannot complete into an object past the quota, once their window has passed', async () => {
  const guard = new QuotaGuard(counted, 50);
  await put('parts', 'old', 400);
  const b = await bucket('parts', 1000);
  await guard.check(b, 500); // part 1
  await new Promise((r) => setTimeout(r, 80));
  await guard.check(b, 500); // part 2: usage read again, parts are not in it
  await expect(guard.checkComplete(b, 1000)).rejects.toThrow(S3Error); // 400 + 1000 > 1000
  await guard.checkComplete(b, 600); // the parts just accepted are not counted twice
  await expect(guard.check(b, 1)).rejects.toThrow(S3Error);
});

test('Quota_forget: a forgotten bucket is read again at once', async () => {
  const guard = new QuotaGuard(counted);
  const b = await bucket('shared', 1e9);
  await guard.check(b, 1);
  guard.forget('shared');
  await guard.check(b, 1);
  expect(reads).toBe(2);
});
