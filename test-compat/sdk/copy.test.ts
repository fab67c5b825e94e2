import path from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { pseudoRandom, type TestServer, openSuite, closeSuite, s3Client, startTestServer, s3Error } from '../harness';
import { dirUsage, MiB } from '../storage/disk';
import { signRequest } from '../http/signing';

/** CopyObject through @aws-sdk/client-s3 against a real listener: bytes, metadata and tagging
 * directives, chunk sharing on disk, copy-source conditions, copies onto the same key,
 * versioned sources, and S3's errors for each wrong input. */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-copy';
const other = 'sdk-copy-other';

beforeAll(async () => {
  ({ server, s3 } = await openSuite(bucket));
  await s3.send(new CreateBucketCommand({ Bucket: other }));
});
afterAll(() => closeSuite({ server, s3 }));

async function getBody(key: string, b = bucket): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: b, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function tagsOf(key: string, b = bucket): Promise<Record<string, string>> {
  const r = await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: key }));
  return Object.fromEntries((r.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
}

const copy = (key: string, source: string, extra: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]> = {}) =>
  s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: source, ...extra }));

describe('copy', () => {
  test('CopyObject_roundTrip: same bytes, ETag and metadata in the same and another bucket', async () => {
    const data = pseudoRandom(100 * 1024, 3); // past the inline limit: chunked
    const put = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'src/a b ü', Body: data, ContentType: 'text/x-test', Metadata: { color: 'blue' }, CacheControl: 'max-age=60' }),
    );
    const source = `${bucket}/${encodeURIComponent('src/a b ü')}`;
    for (const [b, key] of [[bucket, 'dst/same'], [other, 'dst/other']]) {
      const r = await s3.send(new CopyObjectCommand({ Bucket: b, Key: key, CopySource: source }));
      expect(r.CopyObjectResult?.ETag).toBe(put.ETag);
      const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: key }));
      // HTTP dates carry whole seconds.
      expect(Math.floor(r.CopyObjectResult!.LastModified!.getTime() / 1000) * 1000).toBe(head.LastModified?.getTime());
      expect(head.ETag).toBe(put.ETag);
      expect(head.ContentType).toBe('text/x-test');
      expect(head.CacheControl).toBe('max-age=60');
      expect(head.Metadata).toEqual({ color: 'blue' });
      expect((await getBody(key, b)).equals(data)).toBe(true);
    }
  });

  test('CopyObject_rawUtf8Source: a copy source sent as unencoded UTF-8 bytes names the same key', async () => {
    // The client signs the key's UTF-8 bytes and sends those bytes (fetch sends a header value
    // as latin1: each byte of the UTF-8 as one character).
    const source = `/${bucket}/src/a b ü`;
    const signed = await signRequest(server.url, { method: 'PUT', path: `/${bucket}/dst/raw-utf8`, headers: { 'x-amz-copy-source': source } });
    const sent = { ...signed.headers, 'x-amz-copy-source': Buffer.from(source, 'utf8').toString('latin1') };
    const res = await fetch(signed.url, { method: 'PUT', headers: sent });
    expect(res.status).toBe(200);
    expect((await getBody('dst/raw-utf8')).equals(await getBody('src/a b ü'))).toBe(true);
  });

  test('CopyObject_inline: a small object copies too; a leading slash in the source is accepted', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'tiny body' }));
    await copy('small-copy', `/${bucket}/small`);
    expect((await getBody('small-copy')).toString()).toBe('tiny body');
  });

  test('CopyObject_metadataDirective: COPY keeps the source metadata, REPLACE takes the request', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta', Body: 'm', ContentType: 'text/plain', Metadata: { a: '1' } }));
    await copy('meta-copy', `${bucket}/meta`, { MetadataDirective: 'COPY', ContentType: 'ignored/type', Metadata: { ignored: 'x' } });
    let head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta-copy' }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ a: '1' });

    await copy('meta-replaced', `${bucket}/meta`, { MetadataDirective: 'REPLACE', ContentType: 'application/json', Metadata: { b: '2' } });
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta-replaced' }));
    expect(head.ContentType).toBe('application/json');
    expect(head.Metadata).toEqual({ b: '2' });
    expect((await getBody('meta-replaced')).toString()).toBe('m');
  });

  test('CopyObject_taggingDirective: COPY keeps the source tags, REPLACE takes x-amz-tagging', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'tagged', Body: 't', Tagging: 'team=blue&tier=1' }));
    await copy('tagged-copy', `${bucket}/tagged`);
    expect(await tagsOf('tagged-copy')).toEqual({ team: 'blue', tier: '1' });
    await copy('tagged-replaced', `${bucket}/tagged`, { TaggingDirective: 'REPLACE', Tagging: 'team=red' });
    expect(await tagsOf('tagged-replaced')).toEqual({ team: 'red' });
    await copy('tagged-cleared', `${bucket}/tagged`, { TaggingDirective: 'REPLACE' });
    expect(await tagsOf('tagged-cleared')).toEqual({});
  });

  test('CopyObject_bigObject: a 16 MiB object is copied without new chunk data, and outlives its source', async () => {
    const data = pseudoRandom(16 * MiB, 77);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: data, ChecksumAlgorithm: 'CRC32' }));
    const chunks = path.join(server.dataDir, 'chunks');
    const before = (await dirUsage(chunks)).bytes;
    const r = await copy('big-copy', `${bucket}/big`);
    await s3.send(new CopyObjectCommand({ Bucket: other, Key: 'big-copy', CopySource: `${bucket}/big` }));
    expect((await dirUsage(chunks)).bytes - before).toBeLessThan(64 * 1024);
    expect(r.CopyObjectResult?.ETag).toBe(put.ETag);
    expect(r.CopyObjectResult?.ChecksumCRC32).toBe(put.ChecksumCRC32);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big-copy', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(head.ContentLength).toBe(data.length);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'big' }));
    expect((await getBody('big-copy')).equals(data)).toBe(true);
    expect((await getBody('big-copy', other)).equals(data)).toBe(true);
  });
});

describe('copy and garbage collection', () => {
  // Its own server, collecting without a grace period, so a pass removes what nothing references.
  let gcServer: TestServer;
  let client: S3Client;
  beforeAll(async () => {
    gcServer = await startTestServer({ RFS_GC_GRACE_SECONDS: '0' });
    client = s3Client(gcServer.url);
    await client.send(new CreateBucketCommand({ Bucket: 'gc-copy' }));
  });
  afterAll(() => closeSuite({ server: gcServer, s3: client }));

  test('CopyObject_sharedChunks: the copy keeps its data through GC after the source is deleted; deleting it too frees the space', async () => {
    const chunks = path.join(gcServer.dataDir, 'chunks');
    const collect = async () => {
      await gcServer.rfs!.gc.runOnce();
      await gcServer.rfs!.gc.runOnce();
    };
    const data = pseudoRandom(12 * MiB, 91);
    await client.send(new PutObjectCommand({ Bucket: 'gc-copy', Key: 'source', Body: data }));
    await client.send(new CopyObjectCommand({ Bucket: 'gc-copy', Key: 'copy', CopySource: 'gc-copy/source' }));
    await client.send(new DeleteObjectCommand({ Bucket: 'gc-copy', Key: 'source' }));
    await collect();
    expect((await dirUsage(chunks)).bytes).toBeGreaterThan(11 * MiB);
    const r = await client.send(new GetObjectCommand({ Bucket: 'gc-copy', Key: 'copy' }));
    expect(Buffer.from(await r.Body!.transformToByteArray()).equals(data)).toBe(true);
    await client.send(new DeleteObjectCommand({ Bucket: 'gc-copy', Key: 'copy' }));
    await collect();
    expect((await dirUsage(chunks)).bytes).toBeLessThan(MiB);
  });
});

describe('copy-source conditions', () => {
  let etag: string;
  const past = new Date('2000-01-01T00:00:00Z');
  const future = () => new Date(Date.now() + 3600_000);

  beforeAll(async () => {
    etag = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'conditional' }))).ETag!;
  });

  test.each([
    ['if-match with another etag', { CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"' }],
    ['if-none-match with the etag', { CopySourceIfNoneMatch: 'ETAG' }],
    ['if-modified-since after the last change', { CopySourceIfModifiedSince: 'FUTURE' }],
    ['if-unmodified-since before the last change', { CopySourceIfUnmodifiedSince: past }],
    ['if-none-match false with if-modified-since true', { CopySourceIfNoneMatch: 'ETAG', CopySourceIfModifiedSince: past }],
  ])('CopyObject_condition_fails: %s → PreconditionFailed 412', async (_name, raw) => {
    const input = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === 'ETAG' ? etag : v === 'FUTURE' ? future() : v]));
    expect(await s3Error(copy('cond-copy', `${bucket}/cond`, input))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
  });

  test.each([
    ['if-match with the etag', { CopySourceIfMatch: 'ETAG' }],
    ['if-none-match with another etag', { CopySourceIfNoneMatch: '"0123456789abcdef0123456789abcdef"' }],
    ['if-modified-since before the last change', { CopySourceIfModifiedSince: past }],
    ['if-unmodified-since after the last change', { CopySourceIfUnmodifiedSince: 'FUTURE' }],
    ['if-match true overrides if-unmodified-since false', { CopySourceIfMatch: 'ETAG', CopySourceIfUnmodifiedSince: past }],
  ])('CopyObject_condition_holds: %s → copied', async (_name, raw) => {
    const input = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === 'ETAG' ? etag : v === 'FUTURE' ? future() : v]));
    await copy('cond-copy', `${bucket}/cond`, input);
    expect((await getBody('cond-copy')).toString()).toBe('conditional');
  });

  test('CopyObject_destinationCondition: If-None-Match * on an existing key → 412, on a new key → copied', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dest-exists', Body: 'keep me' }));
    expect(await s3Error(copy('dest-exists', `${bucket}/cond`, { IfNoneMatch: '*' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect((await getBody('dest-exists')).toString()).toBe('keep me');
    await copy('dest-new', `${bucket}/cond`, { IfNoneMatch: '*' });
    expect((await getBody('dest-new')).toString()).toBe('conditional');
  });
});

describe('copy onto itself', () => {
  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'self', Body: 'self body', Metadata: { v: '1' } }));
  });

  test('CopyObject_toItself_unchanged: InvalidRequest 400 with S3 message', async () => {
    const e = await s3Error(copy('self', `${bucket}/self`));
    expect(e).toMatchObject({ name: 'InvalidRequest', status: 400 });
    expect(e.message).toBe(
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
    expect(await s3Error(copy('self', `${bucket}/self`, { MetadataDirective: 'COPY' }))).toMatchObject({ name: 'InvalidRequest', status: 400 });
  });

  test('CopyObject_toItself_replace: new metadata, same bytes', async () => {
    await copy('self', `${bucket}/self`, { MetadataDirective: 'REPLACE', Metadata: { v: '2' } });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'self' }));
    expect(head.Metadata).toEqual({ v: '2' });
    expect((await getBody('self')).toString()).toBe('self body');
  });
});

describe('versioned source', () => {
  const vb = 'sdk-copy-versions';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: vb }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
  });

  test('CopyObject_versionId: copies the named version; answers both version ids', async () => {
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'doc', Body: 'first' }))).VersionId!;
    await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'doc', Body: 'second' }));
    const r = await s3.send(new CopyObjectCommand({ Bucket: vb, Key: 'doc', CopySource: `${vb}/doc?versionId=${v1}` }));
    expect(r.CopySourceVersionId).toBe(v1);
    expect(r.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.VersionId).not.toBe(v1);
    expect((await getBody('doc', vb)).toString()).toBe('first');
  });

  test('CopyObject_deleteMarker: current marker → NoSuchKey 404; named by version id → InvalidRequest 400', async () => {
    await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'gone', Body: 'x' }));
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: vb, Key: 'gone' }))).VersionId!;
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: vb, Key: 'g2', CopySource: `${vb}/gone` })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: vb, Key: 'g2', CopySource: `${vb}/gone?versionId=${marker}` })))).toMatchObject({
      name: 'InvalidRequest',
      status: 400,
    });
  });

  test('CopyObject_badVersionId: InvalidArgument 400; unknown version → NoSuchVersion 404', async () => {
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: vb, Key: 'x', CopySource: `${vb}/doc?versionId=not-a-version` })))).toMatchObject({
      name: 'InvalidArgument',
      status: 400,
    });
    expect(
      await s3Error(s3.send(new CopyObjectCommand({ Bucket: vb, Key: 'x', CopySource: `${vb}/doc?versionId=00000000-0000-4000-8000-000000000000` }))),
    ).toMatchObject({ name: 'NoSuchVersion', status: 404 });
  });
});

describe('copy errors', () => {
  test.each([
    ['a missing source key', `${bucket}/no/such/key`, { name: 'NoSuchKey', status: 404 }],
    ['a missing source bucket', 'no-such-bucket-anywhere/key', { name: 'NoSuchBucket', status: 404 }],
    ['a source without a key', bucket, { name: 'InvalidArgument', status: 400 }],
    ['a source with an empty key', `${bucket}/`, { name: 'InvalidArgument', status: 400 }],
    ['a source with a bad escape', `${bucket}/%zz`, { name: 'InvalidArgument', status: 400 }],
  ])('CopyObject_source: %s', async (_name, source, expected) => {
    expect(await s3Error(copy('err-dest', source))).toMatchObject(expected);
  });

  test('CopyObject_directive: an unknown directive is InvalidArgument 400', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir-src', Body: 'd' }));
    expect(await s3Error(copy('dir-dst', `${bucket}/dir-src`, { MetadataDirective: 'MOVE' as 'COPY' }))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await s3Error(copy('dir-dst', `${bucket}/dir-src`, { TaggingDirective: 'MOVE' as 'COPY' }))).toMatchObject({ name: 'InvalidArgument', status: 400 });
  });

  test('CopyObject_badTagging: REPLACE with invalid x-amz-tagging fails before anything is written', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bt-src', Body: 'b' }));
    expect(await s3Error(copy('bt-dst', `${bucket}/bt-src`, { TaggingDirective: 'REPLACE', Tagging: 'aws:reserved=1' }))).toMatchObject({
      name: 'InvalidTag',
      status: 400,
    });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bt-dst' })))).toMatchObject({ status: 404 });
  });
});
