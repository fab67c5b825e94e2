import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  S3Client,
  UploadPartCommand,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { type TestServer, closeSuite, objectBytes, openSuite, pseudoRandom, s3Error } from '../harness';

/**
 * Lifecycle rules that run, through @aws-sdk/client-s3: a lifecycle day is half a second
 * here (RFS_LIFECYCLE_DAY_SECONDS), and each test runs a pass itself (the admin API's
 * "start lifecycle" does the same) rather than wait for the timer. What a user checks: what
 * is gone is gone, what is not due or not matched still reads back byte-exact, the
 * x-amz-expiration header said so beforehand, and the freed chunks are collected.
 */
let server: TestServer;
let s3: S3Client;
const DAY_MS = 500;

beforeAll(async () => {
  ({ server, s3 } = await openSuite('lc-plain', { RFS_LIFECYCLE_DAY_SECONDS: String(DAY_MS / 1000), RFS_GC_GRACE_SECONDS: '0' }));
});
afterAll(() => closeSuite({ server, s3 }));

const rfs = () => server.rfs!;
const setRules = (Bucket: string, Rules: LifecycleRule[]) => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
const put = (Bucket: string, Key: string, Body: Buffer | string, Tagging?: string) => s3.send(new PutObjectCommand({ Bucket, Key, Body, Tagging }));
const exists = (Bucket: string, Key: string) => s3.send(new HeadObjectCommand({ Bucket, Key })).then(() => true, () => false);
/** Waits until `days` lifecycle days from now have fully passed, rounding included. */
const waitDays = (days: number) => new Promise((r) => setTimeout(r, (days + 1) * DAY_MS + 50));

async function newBucket(name: string, versioned = false): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  if (versioned) await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
}

async function versionsOf(Bucket: string): Promise<string[]> {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  return [
    ...(page.Versions ?? []).map((v) => `${v.Key}:${v.IsLatest ? 'current' : 'old'}`),
    ...(page.DeleteMarkers ?? []).map((m) => `${m.Key}:marker`),
  ].sort();
}

test('LifecycleRun_expiration: objects a Days rule takes are removed with their chunks; others stay byte-exact; x-amz-expiration said so', async () => {
  const big = pseudoRandom(300_000, 7); // chunked, not inline: its chunks must go through GC
  await setRules('lc-plain', [
    { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } },
    { ID: 'tagged large', Status: 'Enabled', Filter: { And: { Prefix: 't/', Tags: [{ Key: 'class', Value: 'scratch' }], ObjectSizeGreaterThan: 10 } }, Expiration: { Days: 1 } },
    { ID: 'off', Status: 'Disabled', Filter: { Prefix: 'keep/' }, Expiration: { Days: 1 } },
    { ID: 'later', Status: 'Enabled', Filter: { Prefix: 'later/' }, Expiration: { Days: 6 } },
  ]);
  const written = await put('lc-plain', 'tmp/big', big);
  expect(written.Expiration).toMatch(/^expiry-date="[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", rule-id="tmp"$/);
  await put('lc-plain', 't/scratch', 'more than ten bytes', 'class=scratch');
  await put('lc-plain', 't/small', 'tiny', 'class=scratch');
  await put('lc-plain', 't/other', 'more than ten bytes', 'class=keep');
  await put('lc-plain', 'keep/a', 'kept: its rule is disabled');
  await put('lc-plain', 'later/a', 'kept: not due yet');

  const head = await s3.send(new HeadObjectCommand({ Bucket: 'lc-plain', Key: 'tmp/big' }));
  const expiry = Date.parse(/expiry-date="([^"]+)"/.exec(head.Expiration!)![1]);
  expect(expiry).toBeGreaterThan(head.LastModified!.getTime() + DAY_MS - 1000); // a day on, rounded up to a day's boundary
  expect((await s3.send(new HeadObjectCommand({ Bucket: 'lc-plain', Key: 't/scratch' }))).Expiration).toMatch(/rule-id="tagged%20large"$/);
  expect((await s3.send(new HeadObjectCommand({ Bucket: 'lc-plain', Key: 't/small' }))).Expiration).toBeUndefined();
  expect((await s3.send(new HeadObjectCommand({ Bucket: 'lc-plain', Key: 'keep/a' }))).Expiration).toBeUndefined();

  await waitDays(1);
  expect(await rfs().lifecycle.runNow()).toMatchObject({ expired: 2, scanned: expect.any(Number) });

  expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'lc-plain', Key: 'tmp/big' })))).toMatchObject({ status: 404 });
  expect(await exists('lc-plain', 't/scratch')).toBe(false);
  expect((await objectBytes(s3, 'lc-plain', 't/small')).toString()).toBe('tiny');
  expect((await objectBytes(s3, 'lc-plain', 't/other')).toString()).toBe('more than ten bytes');
  expect((await objectBytes(s3, 'lc-plain', 'keep/a')).toString()).toBe('kept: its rule is disabled');
  expect((await objectBytes(s3, 'lc-plain', 'later/a')).toString()).toBe('kept: not due yet');
  // The expired object's chunks are unreferenced now: the normal GC frees them.
  expect((await rfs().gc.runOnce())?.deleted).toBeGreaterThan(0);

  const metrics = await (await fetch(`${server.url}/_rfs/metrics`)).text();
  expect(metrics).toMatch(/^rfs_lifecycle_actions_total\{action="expire"\} [1-9]/m);
  expect(metrics).toMatch(/^rfs_lifecycle_rows_scanned_total [1-9]/m);
  // Passes count every bucket: this one's rules stop here, before 'later/' falls due.
  await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'lc-plain' }));
});

test('LifecycleRun_date: a Date rule expires what it takes once the date has passed; a later date leaves it', async () => {
  await newBucket('lc-date');
  await setRules('lc-date', [
    { ID: 'past', Status: 'Enabled', Filter: { Prefix: 'old/' }, Expiration: { Date: new Date('2020-01-01T00:00:00Z') } },
    { ID: 'future', Status: 'Enabled', Filter: { Prefix: 'new/' }, Expiration: { Date: new Date('2099-01-01T00:00:00Z') } },
  ]);
  const written = await put('lc-date', 'new/a', 'a');
  const promised = 'expiry-date="Thu, 01 Jan 2099 00:00:00 GMT", rule-id="future"';
  expect(written.Expiration).toBe(promised);
  // CopyObject and CompleteMultipartUpload answer it too, as S3 does.
  expect((await s3.send(new CopyObjectCommand({ Bucket: 'lc-date', Key: 'new/copy', CopySource: 'lc-date/new/a' }))).Expiration).toBe(promised);
  const UploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'lc-date', Key: 'new/mpu' }))).UploadId!;
  const ETag = (await s3.send(new UploadPartCommand({ Bucket: 'lc-date', Key: 'new/mpu', UploadId, PartNumber: 1, Body: 'one part' }))).ETag;
  const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'lc-date', Key: 'new/mpu', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
  expect(completed.Expiration).toBe(promised);
  await put('lc-date', 'old/a', 'a');
  await rfs().lifecycle.runNow();
  expect([await exists('lc-date', 'old/a'), await exists('lc-date', 'new/a')]).toEqual([false, true]);
});

test('LifecycleRun_versioned: expiry adds a delete marker; noncurrent versions go after NoncurrentDays, NewerNoncurrentVersions kept; a lone delete marker goes', async () => {
  await newBucket('lc-versions', true);
  await setRules('lc-versions', [
    { ID: 'history', Status: 'Enabled', Filter: { Prefix: 'doc' }, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 } },
    { ID: 'current', Status: 'Enabled', Filter: { Prefix: 'doc' }, Expiration: { Days: 3 } },
    { ID: 'all-history', Status: 'Enabled', Filter: { Prefix: 'gone' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
    { ID: 'markers', Status: 'Enabled', Filter: { Prefix: 'gone' }, Expiration: { ExpiredObjectDeleteMarker: true } },
  ]);
  for (const body of ['v1', 'v2', 'v3']) await put('lc-versions', 'doc', body);
  await put('lc-versions', 'gone', 'only version');
  await s3.send(new DeleteObjectCommand({ Bucket: 'lc-versions', Key: 'gone' }));
  await waitDays(1);

  // doc: v3 is current (not due for 3 days); v2 is the newest noncurrent one, kept; v1 goes.
  // gone: its one version is noncurrent a day: it goes; the marker, alone now, goes next pass.
  expect(await rfs().lifecycle.runNow()).toMatchObject({ expired: 0, noncurrentExpired: 2, deleteMarkersRemoved: 0 });
  expect(await versionsOf('lc-versions')).toEqual(['doc:current', 'doc:old', 'gone:marker']);
  expect((await objectBytes(s3, 'lc-versions', 'doc')).toString()).toBe('v3');
  expect(await rfs().lifecycle.runNow()).toMatchObject({ deleteMarkersRemoved: 1 });
  expect(await versionsOf('lc-versions')).toEqual(['doc:current', 'doc:old']);

  // Three days on, the current version expires behind a delete marker; v2, noncurrent for
  // days with a newer noncurrent version (v3) now, goes in the same pass.
  await waitDays(2);
  expect(await rfs().lifecycle.runNow()).toMatchObject({ expired: 1, noncurrentExpired: 1 });
  expect(await versionsOf('lc-versions')).toEqual(['doc:marker', 'doc:old']);
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'lc-versions' }));
  expect(listed.Versions?.[0]).toMatchObject({ Key: 'doc', IsLatest: false });
  expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'lc-versions', Key: 'doc' })))).toMatchObject({ status: 404 });
});

test('LifecycleRun_objectLock: a rule never removes a version under retention or legal hold; expiry of the current one adds a delete marker, as S3 does', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'lc-locked', ObjectLockEnabledForBucket: true }));
  await setRules('lc-locked', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }]);
  const inAnHour = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000);
  const retained = (await s3.send(new PutObjectCommand({
    Bucket: 'lc-locked', Key: 'retained', Body: 'kept by retention', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inAnHour, ChecksumAlgorithm: 'CRC32',
  }))).VersionId!;
  const held = (await s3.send(new PutObjectCommand({ Bucket: 'lc-locked', Key: 'held', Body: 'kept by a legal hold', ObjectLockLegalHoldStatus: 'ON', ChecksumAlgorithm: 'CRC32' }))).VersionId!;
  await put('lc-locked', 'free', 'not locked');
  await waitDays(1);
  // First pass: each current version expires behind a delete marker (allowed under lock).
  expect(await rfs().lifecycle.runNow()).toMatchObject({ expired: 3, locked: 0 });
  await waitDays(1);
  // Second pass: the now noncurrent versions are due; the locked two stay.
  expect(await rfs().lifecycle.runNow()).toMatchObject({ noncurrentExpired: 1, locked: 2 });
  const bytes = async (Key: string, VersionId: string) => (await s3.send(new GetObjectCommand({ Bucket: 'lc-locked', Key, VersionId }))).Body!.transformToString();
  expect([await bytes('retained', retained), await bytes('held', held)]).toEqual(['kept by retention', 'kept by a legal hold']);
  expect(await versionsOf('lc-locked')).toEqual(['free:marker', 'held:marker', 'held:old', 'retained:marker', 'retained:old']);
  expect(await (await fetch(`${server.url}/_rfs/metrics`)).text()).toMatch(/^rfs_lifecycle_actions_total\{action="locked"\} [1-9]/m);
  await s3.send(new PutObjectLegalHoldCommand({ Bucket: 'lc-locked', Key: 'held', VersionId: held, LegalHold: { Status: 'OFF' }, ChecksumAlgorithm: 'CRC32' }));
  await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'lc-locked' }));
});

test('LifecycleRun_uploads: AbortIncompleteMultipartUpload aborts uploads older than DaysAfterInitiation under its prefix', async () => {
  await newBucket('lc-uploads');
  await setRules('lc-uploads', [{ ID: 'mpu', Status: 'Enabled', Filter: { Prefix: 'stale/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }]);
  const start = async (Key: string) => (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'lc-uploads', Key }))).UploadId!;
  const stale = await start('stale/x');
  const other = await start('fresh/x');
  await s3.send(new UploadPartCommand({ Bucket: 'lc-uploads', Key: 'stale/x', UploadId: stale, PartNumber: 1, Body: pseudoRandom(100_000, 3) }));
  await waitDays(1);
  expect(await rfs().lifecycle.runNow()).toMatchObject({ uploadsAborted: 1 });
  const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'lc-uploads' }));
  expect(left.Uploads?.map((u) => u.Key)).toEqual(['fresh/x']);
  const part = s3.send(new UploadPartCommand({ Bucket: 'lc-uploads', Key: 'stale/x', UploadId: stale, PartNumber: 2, Body: 'late' }));
  expect(await s3Error(part)).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  // The upload the rule did not take completes as usual.
  const etag = (await s3.send(new UploadPartCommand({ Bucket: 'lc-uploads', Key: 'fresh/x', UploadId: other, PartNumber: 1, Body: 'done' }))).ETag;
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'lc-uploads', Key: 'fresh/x', UploadId: other, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } }));
  expect((await objectBytes(s3, 'lc-uploads', 'fresh/x')).toString()).toBe('done');
});

test('LifecycleRun_lease: while another process holds the lifecycle lease, a pass here does nothing; a timer pass right after a finished one is skipped', async () => {
  await newBucket('lc-lease');
  await setRules('lc-lease', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Date: new Date('2020-01-01T00:00:00Z') } }]);
  await put('lc-lease', 'a', 'a');
  const cluster = rfs().services.meta.cluster;
  expect(await cluster.takeLease('lifecycle', 'another-gateway', 30)).toBe(true);
  try {
    expect(await rfs().lifecycle.runNow()).toBeUndefined();
    expect(await exists('lc-lease', 'a')).toBe(true);
  } finally {
    await cluster.releaseLease('lifecycle', 'another-gateway');
  }
  // Released: the next pass runs and records when it finished.
  expect(await rfs().lifecycle.runNow()).toMatchObject({ expired: 1 });
  expect(await exists('lc-lease', 'a')).toBe(false);
  expect((await cluster.job('lifecycle'))?.progress).toMatchObject({ finished: expect.any(String), expired: 1 });
  // A timer pass (not asked for) finds that pass finished a moment ago and leaves it at that.
  expect(await rfs().lifecycle.runOnce()).toBeUndefined();
});

test('LifecycleRun_listing: expired keys leave listings at once, and a bucket emptied by its rules can be deleted', async () => {
  await newBucket('lc-empty');
  await setRules('lc-empty', [{ ID: 'all', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Date: new Date('2020-01-01T00:00:00Z') } }]);
  for (let i = 0; i < 25; i++) await put('lc-empty', `k/${i}`, `body ${i}`);
  expect(await rfs().lifecycle.runNow()).toMatchObject({ expired: 25 });
  expect((await s3.send(new ListObjectsV2Command({ Bucket: 'lc-empty' }))).KeyCount).toBe(0);
  await s3.send(new DeleteBucketCommand({ Bucket: 'lc-empty' }));
});
