import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListObjectsCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { pseudoRandom, type TestServer, openSuite, closeSuite, s3Error } from '../harness';

/** Every core operation through @aws-sdk/client-s3 at its defaults (CRC32 checksums,
 * aws-chunked trailers on streaming uploads), against a real listener. */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-objects';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

async function getBody(key: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('buckets', () => {
  test('CreateBucket_existing: one\'s own bucket again is 200 in us-east-1 (AWS\'s legacy answer), BucketAlreadyOwnedByYou 409 elsewhere', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kept-by-create', Body: 'x' }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kept-by-create' }))).ContentLength).toBe(1);
    const elsewhere = new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } });
    expect(await s3Error(s3.send(elsewhere))).toMatchObject({ name: 'BucketAlreadyOwnedByYou', status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'kept-by-create' }));
  });

  test('ListBuckets_pages: max-buckets, continuation-token, prefix and bucket-region', async () => {
    const names = ['lbp-a', 'lbp-b', 'lbp-c', 'lbp-d', 'lbp-e'];
    for (const name of names) {
      const location = name === 'lbp-e' ? { CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' as const } } : {};
      await s3.send(new CreateBucketCommand({ Bucket: name, ...location }));
    }
    const seen: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListBucketsCommand({ Prefix: 'lbp-', MaxBuckets: 2, ContinuationToken: token }));
      expect(page.Prefix).toBe('lbp-');
      seen.push(page.Buckets!.map((b) => b.Name!));
      token = page.ContinuationToken;
    } while (token);
    expect(seen).toEqual([['lbp-a', 'lbp-b'], ['lbp-c', 'lbp-d'], ['lbp-e']]);
    const all = await s3.send(new ListBucketsCommand({}));
    expect([all.ContinuationToken, all.Buckets!.map((b) => b.Name)]).toEqual([undefined, expect.arrayContaining([bucket, ...names])]);
    const inEu = await s3.send(new ListBucketsCommand({ Prefix: 'lbp-', BucketRegion: 'eu-west-1' }));
    expect(inEu.Buckets!.map((b) => [b.Name, b.BucketRegion])).toEqual([['lbp-e', 'eu-west-1']]);
    for (const MaxBuckets of [0, 10_001]) {
      expect(await s3Error(s3.send(new ListBucketsCommand({ MaxBuckets })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    }
    for (const name of names) await s3.send(new DeleteBucketCommand({ Bucket: name }));
  });

  test('CreateBucket_invalidName: InvalidBucketName 400', async () => {
    for (const name of ['ab', 'UPPER', 'a..b', '192.168.1.1', '-dash', 'xn--punycode', 'x'.repeat(64)]) {
      expect(await s3Error(s3.send(new CreateBucketCommand({ Bucket: name })))).toMatchObject({ name: 'InvalidBucketName', status: 400 });
    }
  });

  test('CreateBucket_locationConstraint: accepted and reported by GetBucketLocation', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-eu', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'sdk-eu' }))).LocationConstraint).toBe('eu-west-1');
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint).toBeFalsy();
    await s3.send(new DeleteBucketCommand({ Bucket: 'sdk-eu' }));
  });

  test('ListBuckets_HeadBucket: lists created buckets; HeadBucket 404 for missing', async () => {
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain(bucket);
    expect(list.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    expect(await s3Error(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket-here' })))).toMatchObject({ status: 404 });
  });

  test('DeleteBucket_notEmpty: BucketNotEmpty 409, then deletable once empty', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-delete-me' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-delete-me', Key: 'k', Body: 'x' }));
    expect(await s3Error(s3.send(new DeleteBucketCommand({ Bucket: 'sdk-delete-me' })))).toMatchObject({ name: 'BucketNotEmpty', status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'sdk-delete-me', Key: 'k' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'sdk-delete-me' }));
    expect(await s3Error(s3.send(new DeleteBucketCommand({ Bucket: 'sdk-delete-me' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });
});

describe('objects', () => {
  test('PutObject_GetObject: bytes, ETag, metadata and content headers round-trip', async () => {
    const data = pseudoRandom(3 * 1024 * 1024 + 17, 7);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket, Key: 'round/trip.bin', Body: data,
        ContentType: 'application/x-test', ContentEncoding: 'identity', ContentDisposition: 'attachment; filename="t.bin"',
        ContentLanguage: 'en-GB', CacheControl: 'max-age=60', Expires: new Date('2030-01-01T00:00:00Z'),
        Metadata: { color: 'blue', 'multi-word': 'a b c' },
      }),
    );
    expect(put.ETag).toBe(`"${md5(data)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'round/trip.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(got.ETag).toBe(put.ETag);
    expect(got.ContentLength).toBe(data.length);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.ContentEncoding).toBe('identity');
    expect(got.ContentDisposition).toBe('attachment; filename="t.bin"');
    expect(got.ContentLanguage).toBe('en-GB');
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.ExpiresString ?? got.Expires?.toUTCString()).toBe('Tue, 01 Jan 2030 00:00:00 GMT');
    expect(got.Metadata).toEqual({ color: 'blue', 'multi-word': 'a b c' });
    expect(Math.abs(got.LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  test('PutObject_empty and small inline objects round-trip', async () => {
    for (const [key, data] of [['empty', Buffer.alloc(0)], ['one', Buffer.from('x')], ['64k', pseudoRandom(64 * 1024, 3)]] as const) {
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
      expect(put.ETag).toBe(`"${md5(data)}"`);
      expect((await getBody(key)).equals(data)).toBe(true);
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength).toBe(data.length);
    }
  });

  test('PutObject_oddKeys: any UTF-8 key up to 1024 bytes is stored and listed byte-exact', async () => {
    const keys = ['with space', 'plus+sign', 'per%cent', 'dots/../up', './here', 'a//double', 'ünïcödé/日本語/😀', 'tab\there', 'q?mark', 'hash#tag', 'amp&x=y', '~tilde', "quote'\"", 'k'.repeat(1024), '/leading-slash'];
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-odd' }));
    for (const key of keys) {
      await s3.send(new PutObjectCommand({ Bucket: 'sdk-odd', Key: key, Body: key }));
      const r = await s3.send(new GetObjectCommand({ Bucket: 'sdk-odd', Key: key }));
      expect(await r.Body!.transformToString()).toBe(key);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'sdk-odd' }));
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(expected);
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'sdk-odd', Key: 'k'.repeat(1025), Body: 'x' })))).toMatchObject({ name: 'KeyTooLongError', status: 400 });
  });

  test('PutObject_metadataTooLarge: over 2 KiB of x-amz-meta-* is MetadataTooLarge', async () => {
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })))).toMatchObject({ name: 'MetadataTooLarge', status: 400 });
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  test('GetObject_missing: NoSuchKey 404 and NoSuchBucket 404', async () => {
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'nope' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket-x', Key: 'k' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'nope' })))).toMatchObject({ status: 404 });
  });

  test('DeleteObject: 204, idempotent, object gone', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'del', Body: 'x' }));
    expect((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'del' }))).$metadata.httpStatusCode).toBe(204);
    expect((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'del' }))).$metadata.httpStatusCode).toBe(204);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'del' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });

  test('GetObject_responseOverrides: response-* query parameters override headers', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'override', Body: 'x', ContentType: 'text/plain' }));
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'override', ResponseContentType: 'application/json', ResponseContentDisposition: 'inline', ResponseCacheControl: 'no-cache' }));
    expect(r.ContentType).toBe('application/json');
    expect(r.ContentDisposition).toBe('inline');
    expect(r.CacheControl).toBe('no-cache');
  });

  test('Checksums: every algorithm verified on PUT and returned with ChecksumMode ENABLED', async () => {
    const data = pseudoRandom(300_000, 11);
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `ck-${alg}`, Body: data, ChecksumAlgorithm: alg }));
      const field = `Checksum${alg}` as const;
      expect(put[field]).toBeTruthy();
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `ck-${alg}`, ChecksumMode: 'ENABLED' }));
      expect(head[field]).toBe(put[field]);
      const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `ck-${alg}`, ChecksumMode: 'ENABLED' }));
      expect(Buffer.from(await get.Body!.transformToByteArray()).equals(data)).toBe(true); // the SDK validates the checksum
    }
  });

  test('PutObject_stream: a stream body goes aws-chunked with a CRC32 trailer and round-trips', async () => {
    const data = pseudoRandom(2 * 1024 * 1024 + 5, 31);
    const body = Readable.from((function* () {
      for (let at = 0; at < data.length; at += 100_000) yield data.subarray(at, at + 100_000);
    })());
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: body, ContentLength: data.length }));
    expect(put.ETag).toBe(`"${md5(data)}"`);
    expect(put.ChecksumCRC32).toBeTruthy();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'streamed', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect((await getBody('streamed')).equals(data)).toBe(true);
  });

  test('Checksums_wrong: a declared CRC32 that does not match is BadDigest, nothing stored', async () => {
    const err = await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-crc', Body: 'hello', ChecksumCRC32: 'AAAAAA==' })));
    expect(err).toMatchObject({ name: 'BadDigest', status: 400 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-crc' })))).toMatchObject({ status: 404 });
    const md5Err = await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-md5', Body: 'hello', ContentMD5: createHash('md5').update('other').digest('base64') })));
    expect(md5Err).toMatchObject({ name: 'BadDigest', status: 400 });
  });
});

describe('server-side encryption (not built: refused, never stored as plaintext)', () => {
  test('Sse_requested: PutObject, CopyObject, CreateMultipartUpload and GetObject asking for SSE are 501 NotImplemented; nothing is stored', async () => {
    const refused = [
      new PutObjectCommand({ Bucket: bucket, Key: 'sse/s3', Body: 'secret', ServerSideEncryption: 'AES256' }),
      new PutObjectCommand({ Bucket: bucket, Key: 'sse/kms', Body: 'secret', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'k' }),
      new PutObjectCommand({ Bucket: bucket, Key: 'sse/c', Body: 'secret', SSECustomerAlgorithm: 'AES256', SSECustomerKey: 'k'.repeat(32) }),
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'sse/mp', ServerSideEncryption: 'AES256' }),
    ];
    for (const command of refused) expect(await s3Error(s3.send(command))).toMatchObject({ name: 'NotImplemented', status: 501 });
    for (const key of ['sse/s3', 'sse/kms', 'sse/c']) expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))).toMatchObject({ status: 404 });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse/plain', Body: 'plain' }));
    const get = new GetObjectCommand({ Bucket: bucket, Key: 'sse/plain', SSECustomerAlgorithm: 'AES256', SSECustomerKey: 'k'.repeat(32) });
    expect(await s3Error(s3.send(get))).toMatchObject({ name: 'NotImplemented', status: 501 });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'sse/plain' }));
  });

  test('BucketEncryption: none configured (404 ServerSideEncryptionConfigurationNotFoundError), setting one is 501, deleting is 204', async () => {
    expect(await s3Error(s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })))).toMatchObject({ name: 'ServerSideEncryptionConfigurationNotFoundError', status: 404 });
    const put = new PutBucketEncryptionCommand({
      Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
    expect(await s3Error(s3.send(put))).toMatchObject({ name: 'NotImplemented', status: 501 });
    expect((await s3.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }))).$metadata.httpStatusCode).toBe(204);
  });
});

describe('ranges and conditions', () => {
  const data = pseudoRandom(5 * 1024 * 1024 + 3, 21);
  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ranged', Body: data }));
  });

  test('GetObject_range: a-b, a-, -n give 206 with Content-Range and exactly those bytes', async () => {
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-199', 100, 199],
      ['bytes=1048570-3145740', 1048570, 3145740],
      [`bytes=${data.length - 10}-`, data.length - 10, data.length - 1],
      ['bytes=-7', data.length - 7, data.length - 1],
      [`bytes=5-${data.length + 100}`, 5, data.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: range }));
      expect(r.$metadata.httpStatusCode).toBe(206);
      expect(r.ContentRange).toBe(`bytes ${start}-${end}/${data.length}`);
      expect(Buffer.from(await r.Body!.transformToByteArray()).equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  test('GetObject_range_unsatisfiable: InvalidRange 416', async () => {
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: `bytes=${data.length}-` })))).toMatchObject({ name: 'InvalidRange', status: 416 });
  });

  test('GetObject_conditional: If-Match/If-None-Match/If-(Un)Modified-Since with S3 precedence', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ranged' }));
    const etag = head.ETag!;
    const before = new Date(head.LastModified!.getTime() - 3600_000);
    const after = new Date(head.LastModified!.getTime() + 3600_000);
    const status = async (input: Record<string, unknown>) =>
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=0-0', ...input })).then((r) => r.$metadata.httpStatusCode, (e) => e.$metadata?.httpStatusCode);
    expect(await status({ IfMatch: etag })).toBe(206);
    expect(await status({ IfMatch: '"nope"' })).toBe(412);
    expect(await status({ IfNoneMatch: etag })).toBe(304);
    expect(await status({ IfNoneMatch: '"nope"' })).toBe(206);
    expect(await status({ IfModifiedSince: after })).toBe(304);
    expect(await status({ IfModifiedSince: before })).toBe(206);
    expect(await status({ IfUnmodifiedSince: before })).toBe(412);
    expect(await status({ IfUnmodifiedSince: after })).toBe(206);
    expect(await status({ IfMatch: etag, IfUnmodifiedSince: before })).toBe(206); // If-Match true wins
    expect(await status({ IfNoneMatch: '"nope"', IfModifiedSince: after })).toBe(206); // If-None-Match false wins
  });

  test('PutObject_IfNoneMatch: create-only; 50 concurrent creates, exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'create-once', Body: `writer ${i}`, IfNoneMatch: '*' }))),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason.$metadata.httpStatusCode).toBe(412);
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    expect((await getBody('create-once')).toString()).toBe(`writer ${winner}`);
  });

  test('PutObject_IfMatch: overwrite only the expected version', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'v1' }));
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'v2', IfMatch: '"0000"' })))).toMatchObject({ status: 412 });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'v2', IfMatch: first.ETag }));
    expect((await getBody('cas')).toString()).toBe('v2');
  });
});

describe('partNumber', () => {
  const single = pseudoRandom(300_000, 61);
  const parts = [pseudoRandom(5 * 1024 * 1024, 62), pseudoRandom(5 * 1024 * 1024, 63), pseudoRandom(1024 * 1024 + 7, 64)];
  const whole = Buffer.concat(parts);
  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'single-part', Body: single }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'three-parts' }));
    const done = [];
    for (let i = 0; i < parts.length; i++) {
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'three-parts', UploadId, PartNumber: i + 1, Body: parts[i] }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'three-parts', UploadId, MultipartUpload: { Parts: done } }));
  });

  test('GetObject_partNumber: exactly that part of a multipart object, 206 with Content-Range and the part count', async () => {
    let pos = 0;
    for (let i = 0; i < parts.length; i++) {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'three-parts', PartNumber: i + 1 }));
      expect(r.$metadata.httpStatusCode).toBe(206);
      expect(r.ContentRange).toBe(`bytes ${pos}-${pos + parts[i].length - 1}/${whole.length}`);
      expect(r.PartsCount).toBe(3);
      expect(r.ContentLength).toBe(parts[i].length);
      expect(Buffer.from(await r.Body!.transformToByteArray()).equals(parts[i])).toBe(true);
      pos += parts[i].length;
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'three-parts', PartNumber: 3 }));
    expect([head.$metadata.httpStatusCode, head.ContentLength, head.PartsCount]).toEqual([206, parts[2].length, 3]);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'three-parts', PartNumber: 4 })))).toMatchObject({ name: 'InvalidPartNumber', status: 400 });
  });

  test('GetObject_partNumber_singlePut: part 1 is the whole object (206, no part count); part 2 is InvalidPartNumber 400', async () => {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'single-part', PartNumber: 1 }));
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe(`bytes 0-${single.length - 1}/${single.length}`);
    expect(r.PartsCount).toBeUndefined();
    expect(Buffer.from(await r.Body!.transformToByteArray()).equals(single)).toBe(true);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'single-part', PartNumber: 2 })))).toMatchObject({ name: 'InvalidPartNumber', status: 400 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'single-part', PartNumber: 2 })))).toMatchObject({ status: 400 });
  });

  test('GetObject_partNumber_invalid: with a Range is InvalidRequest; outside 1-10000 is InvalidArgument', async () => {
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'three-parts', PartNumber: 1, Range: 'bytes=0-9' })))).toMatchObject({ name: 'InvalidRequest', status: 400 });
    for (const n of [0, 10001]) {
      expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'single-part', PartNumber: n })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    }
  });
});

describe('concurrency', () => {
  test('PutObject_parallel: 50 distinct keys in parallel all round-trip', async () => {
    const datas = Array.from({ length: 50 }, (_, i) => pseudoRandom(100_000 + i * 5_000, i + 100));
    await Promise.all(datas.map((d, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `par/${i}`, Body: d }))));
    const back = await Promise.all(datas.map((_, i) => getBody(`par/${i}`)));
    back.forEach((b, i) => expect(b.equals(datas[i])).toBe(true));
  });

  test('PutObject_parallelSameKey: 50 writers of one key leave exactly one complete body', async () => {
    const datas = Array.from({ length: 50 }, (_, i) => pseudoRandom(400_000, i + 500));
    await Promise.all(datas.map((d) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'contended', Body: d }))));
    const final = await getBody('contended');
    expect(datas.some((d) => d.equals(final))).toBe(true);
  });
});

describe('listing', () => {
  const lb = 'sdk-list';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: lb }));
    const keys = ['a.txt', 'b/1', 'b/2', 'b/c/3', 'd e/f', 'z'];
    for (let i = 0; i < 25; i++) keys.push(`many/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((k) => s3.send(new PutObjectCommand({ Bucket: lb, Key: k, Body: k }))));
  });

  test('ListObjectsV2_delimiter: CommonPrefixes and KeyCount', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: lb, Delimiter: '/' }));
    expect(r.Contents?.map((c) => c.Key)).toEqual(['a.txt', 'z']);
    expect(r.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['b/', 'd e/', 'many/']);
    expect(r.KeyCount).toBe(5);
    expect(r.IsTruncated).toBe(false);
    const sub = await s3.send(new ListObjectsV2Command({ Bucket: lb, Prefix: 'b/', Delimiter: '/' }));
    expect(sub.Contents?.map((c) => c.Key)).toEqual(['b/1', 'b/2']);
    expect(sub.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['b/c/']);
  });

  test('ListObjectsV2_pagination: continuation tokens visit every key once', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: lb, Prefix: 'many/', MaxKeys: 7, ContinuationToken: token }));
      expect(r.KeyCount).toBeLessThanOrEqual(7);
      seen.push(...(r.Contents ?? []).map((c) => c.Key!));
      token = r.NextContinuationToken;
      expect(Boolean(token)).toBe(r.IsTruncated);
    } while (token);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `many/${String(i).padStart(3, '0')}`));
  });

  test('ListObjectsV2_startAfter_fetchOwner_encodingType', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: lb, StartAfter: 'many/020', FetchOwner: true }));
    expect(r.Contents?.map((c) => c.Key)).toEqual(['many/021', 'many/022', 'many/023', 'many/024', 'z']);
    expect(r.Contents?.[0].Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
    const enc = await s3.send(new ListObjectsV2Command({ Bucket: lb, Prefix: 'd e', EncodingType: 'url' }));
    expect(enc.Contents?.map((c) => c.Key)).toEqual(['d%20e/f']); // S3 leaves '/' as it is
  });

  test('ListObjects_v1: marker and NextMarker with a delimiter', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: lb, Delimiter: '/', MaxKeys: 2 }));
    expect(first.Contents?.map((c) => c.Key)).toEqual(['a.txt']);
    expect(first.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['b/']);
    expect(first.IsTruncated).toBe(true);
    const next = await s3.send(new ListObjectsCommand({ Bucket: lb, Delimiter: '/', Marker: first.NextMarker }));
    expect(next.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['d e/', 'many/']);
    expect(next.Contents?.map((c) => c.Key)).toEqual(['z']);
  });

  test('ListObjectsV2_maxKeys: over 1000 is capped; not a number is InvalidArgument', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: lb, MaxKeys: 5000 }));
    expect(r.MaxKeys).toBe(1000);
  });
});

describe('presigned URLs', () => {
  test('Presigned GET and PUT work from plain fetch', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'presigned/obj' }), { expiresIn: 60 });
    const put = await fetch(putUrl, { method: 'PUT', body: 'presigned body' });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned/obj' }), { expiresIn: 60 });
    const get = await fetch(getUrl);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('presigned body');
  });

  test('Presigned_tampered: a changed key is SignatureDoesNotMatch 403', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned/obj' }), { expiresIn: 60 });
    const r = await fetch(url.replace('presigned/obj', 'presigned/other'));
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});
