import http from 'node:http';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { crc32 } from '@node-rs/crc32';
import { pseudoRandom, s3Client, startTestServer, type TestServer, openSuite, closeSuite, s3Error } from '../harness';
import { signRequest } from '../http/signing';
import { dirUsage, MiB } from '../storage/disk';

/** Multipart upload through @aws-sdk/client-s3 and @aws-sdk/lib-storage at their defaults
 * (lib-storage asks for CRC32 checksums, so its uploads are COMPOSITE CRC32). */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-multipart';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** S3's multipart ETag, computed independently: MD5 of the binary part MD5s, "-N". */
function multipartEtag(parts: Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(createHash('md5').update(p).digest());
  return `"${h.digest('hex')}-${parts.length}"`;
}

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
}

async function crc64Base64(data: Buffer): Promise<string> {
  const c = new Crc64Nvme();
  c.update(data);
  return Buffer.from(await c.digest()).toString('base64');
}

/** The body split into `size`-byte parts (the last one shorter). */
function split(data: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) parts.push(data.subarray(at, at + size));
  return parts;
}

async function getBody(key: string, b = bucket): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: b, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function create(key: string, extra: Partial<ConstructorParameters<typeof CreateMultipartUploadCommand>[0]> = {}, client = s3): Promise<string> {
  const r = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...extra }));
  expect(r.UploadId).toMatch(/^[0-9a-f-]{36}$/);
  return r.UploadId!;
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, extra: Record<string, unknown> = {}, client = s3): Promise<CompletedPart> {
  const r = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ...extra }));
  return { PartNumber: partNumber, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32, ChecksumCRC64NVME: r.ChecksumCRC64NVME, ChecksumSHA256: r.ChecksumSHA256 };
}

async function complete(key: string, uploadId: string, parts: CompletedPart[], extra: Record<string, unknown> = {}) {
  return s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts }, ...extra }));
}

/** A signed request with exactly this body, for what the SDK will not send. */
async function rawRequest(method: string, urlPath: string, query: Record<string, string>, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const s = await signRequest(server.url, { method, path: urlPath, query, body, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } });
  return new Promise((resolve, reject) => {
    const req = http.request(s.url, { method, headers: s.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('round trips', () => {
  test.each([
    ['5 MiB + 1', 5 * MiB + 1],
    ['~20 MiB', 20 * MiB + 12_345],
  ])('Upload_libStorage %s: byte-exact, ETag "<md5 of part md5s>-N", composite CRC32', async (_name, size) => {
    const data = pseudoRandom(size, size % 97);
    const key = `lib/${size}`;
    const result = await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: data }, partSize: 5 * MiB, queueSize: 4 }).done();
    const parts = split(data, 5 * MiB);
    expect(result.ETag).toBe(multipartEtag(parts));
    // COMPOSITE: the CRC32 of the concatenated binary part CRC32s, "-N".
    const composite = `${crc32Base64(Buffer.concat(parts.map((p) => Buffer.from(crc32Base64(p), 'base64'))))}-${parts.length}`;
    expect(result).toMatchObject({ ChecksumCRC32: composite, ChecksumType: 'COMPOSITE', Bucket: bucket, Key: key });
    expect(result.Location).toBe(`${server.url}/${bucket}/lib/${size}`);
    expect((await getBody(key)).equals(data)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ETag: result.ETag, ContentLength: size, ChecksumCRC32: composite, ChecksumType: 'COMPOSITE' });
  });

  test('Multipart_singlePart: one part of 5 MiB − 1 (a last part may be small) round-trips', async () => {
    const data = pseudoRandom(5 * MiB - 1, 5);
    const uploadId = await create('single');
    const part = await uploadPart('single', uploadId, 1, data);
    expect(part.ETag).toBe(`"${md5(data)}"`);
    const done = await complete('single', uploadId, [part]);
    expect(done.ETag).toBe(multipartEtag([data]));
    expect((await getBody('single')).equals(data)).toBe(true);
  });

  test('Multipart_metadata: content headers, x-amz-meta-* and tags given at Create are the object\'s', async () => {
    const uploadId = await create('meta', { ContentType: 'application/x-parts', CacheControl: 'max-age=5', Metadata: { color: 'green' }, Tagging: 'a=1&b=two' });
    await complete('meta', uploadId, [await uploadPart('meta', uploadId, 1, Buffer.from('tiny'))]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta' }));
    expect(head).toMatchObject({ ContentType: 'application/x-parts', CacheControl: 'max-age=5', Metadata: { color: 'green' }, ContentLength: 4 });
    expect(head.ETag).toBe(multipartEtag([Buffer.from('tiny')]));
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'meta' }));
    expect(tags.TagSet).toEqual([{ Key: 'a', Value: '1' }, { Key: 'b', Value: 'two' }]);
  });

  test('UploadPart_parallel: parts sent at once, out of order, complete in order; small and empty last parts', async () => {
    for (const lastSize of [1, 0]) {
      const key = `parallel/${lastSize}`;
      const parts = [...Array.from({ length: 6 }, (_, i) => pseudoRandom(5 * MiB, 100 + i)), pseudoRandom(lastSize, 9)];
      const uploadId = await create(key);
      const uploaded = await Promise.all(parts.map((p, i) => i).reverse().map((i) => uploadPart(key, uploadId, i + 1, parts[i])));
      uploaded.sort((a, b) => a.PartNumber! - b.PartNumber!);
      const done = await complete(key, uploadId, uploaded);
      expect(done.ETag).toBe(multipartEtag(parts));
      expect((await getBody(key)).equals(Buffer.concat(parts))).toBe(true);
    }
  });

  test('UploadPart_replace: uploading a part number again replaces it', async () => {
    const first = pseudoRandom(5 * MiB, 1);
    const second = pseudoRandom(5 * MiB, 2);
    const last = Buffer.from('end');
    const uploadId = await create('replace');
    const old = await uploadPart('replace', uploadId, 1, first);
    const replaced = await uploadPart('replace', uploadId, 1, second);
    const tail = await uploadPart('replace', uploadId, 2, last);
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'replace', UploadId: uploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, replaced.ETag, 5 * MiB], [2, tail.ETag, 3]]);
    expect(await s3Error(complete('replace', uploadId, [old, tail]))).toMatchObject({ name: 'InvalidPart', status: 400 });
    await complete('replace', uploadId, [replaced, tail]);
    expect((await getBody('replace')).equals(Buffer.concat([second, last]))).toBe(true);
  });

  test('Complete_subset: parts left out are dropped; gaps in part numbers are allowed', async () => {
    const parts = [pseudoRandom(5 * MiB, 41), pseudoRandom(5 * MiB, 42), Buffer.from('tail')];
    const uploadId = await create('subset');
    const uploaded = await Promise.all(parts.map((p, i) => uploadPart('subset', uploadId, [1, 3, 7][i], p)));
    await complete('subset', uploadId, [uploaded[0], uploaded[2]]);
    expect((await getBody('subset')).equals(Buffer.concat([parts[0], parts[2]]))).toBe(true);
  });
});

describe('errors', () => {
  let uploadId: string;
  let small: CompletedPart;
  let big: CompletedPart;
  beforeAll(async () => {
    uploadId = await create('errors');
    big = await uploadPart('errors', uploadId, 1, pseudoRandom(5 * MiB, 61));
    small = await uploadPart('errors', uploadId, 2, Buffer.from('small'));
  });

  test('UploadPart_partNumber: outside 1..10000 is InvalidArgument 400', async () => {
    for (const n of [0, 10_001]) {
      expect(await s3Error(uploadPart('errors', uploadId, n, Buffer.from('x')))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    }
    await uploadPart('errors', uploadId, 10_000, Buffer.from('x')); // the largest allowed
  });

  test('NoSuchUpload 404: unknown, malformed, aborted upload ids, and parts of a completed upload', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const id of [unknown, 'not-a-uuid', "1' OR '1'='1"]) {
      expect(await s3Error(s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'errors', UploadId: id, PartNumber: 1, Body: 'x' })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
      expect(await s3Error(s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'errors', UploadId: id })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
      expect(await s3Error(s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'errors', UploadId: id })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
      expect(await s3Error(complete('errors', id, [big]))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    }
    // An upload id is only valid for its own key.
    expect(await s3Error(s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'other-key', UploadId: uploadId })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    const done = await create('errors-done');
    const part = await uploadPart('errors-done', done, 1, Buffer.from('x'));
    await complete('errors-done', done, [part]);
    expect(await s3Error(uploadPart('errors-done', done, 2, Buffer.from('y')))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });

  test('UploadPart_resentInFlight: of two sends of one part number, the one that finishes last is the part; Complete takes its ETag', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'resent' }));
    const slowBody = pseudoRandom(MiB, 71);
    const fastBody = pseudoRandom(MiB, 72);
    // The slow send starts first and finishes last: its body trickles in behind the fast one.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const slowStream = Readable.from((async function* () {
      yield slowBody.subarray(0, 1000);
      await released;
      yield slowBody.subarray(1000);
    })());
    const slow = s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'resent', UploadId, PartNumber: 1, Body: slowStream, ContentLength: slowBody.length }));
    const fast = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'resent', UploadId, PartNumber: 1, Body: fastBody }));
    release();
    const last = await slow;
    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'resent', UploadId }));
    expect(parts.Parts?.map((p) => p.ETag)).toEqual([last.ETag]);
    const completeWith = (etag: string | undefined) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'resent', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } }));
    expect(await s3Error(completeWith(fast.ETag))).toMatchObject({ name: 'InvalidPart', status: 400 });
    await completeWith(last.ETag);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'resent' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(slowBody)).toBe(true);
  });

  test('Complete_retried: a second Complete of a completed upload answers 200 with the first result; once the object is gone, NoSuchUpload', async () => {
    const versioned = 'mp-retry-versioned';
    await s3.send(new CreateBucketCommand({ Bucket: versioned }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
    for (const b of [bucket, versioned]) {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'retried' }));
      const body = pseudoRandom(6 * MiB, 61);
      const etag = (await s3.send(new UploadPartCommand({ Bucket: b, Key: 'retried', UploadId, PartNumber: 1, Body: body }))).ETag;
      const send = () => s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'retried', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } }));
      const first = await send();
      const again = await send();
      expect([again.ETag, again.VersionId, again.$metadata.httpStatusCode]).toEqual([first.ETag, first.VersionId, 200]);
      expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'retried' }))).ContentLength).toBe(body.length);
      await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'retried', VersionId: first.VersionId }));
      expect(await s3Error(send())).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    }
    await s3.send(new DeleteBucketCommand({ Bucket: versioned }));
  });

  test('Complete_order: descending or repeated part numbers are InvalidPartOrder 400', async () => {
    expect(await s3Error(complete('errors', uploadId, [small, big]))).toMatchObject({ name: 'InvalidPartOrder', status: 400 });
    expect(await s3Error(complete('errors', uploadId, [big, big]))).toMatchObject({ name: 'InvalidPartOrder', status: 400 });
  });

  test('Complete_invalidPart: a missing part or a wrong ETag is InvalidPart 400', async () => {
    expect(await s3Error(complete('errors', uploadId, [big, { PartNumber: 3, ETag: small.ETag }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
    expect(await s3Error(complete('errors', uploadId, [big, { PartNumber: 2, ETag: `"${md5(Buffer.from('other'))}"` }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
  });

  test('Complete_tooSmall: a part under 5 MiB that is not the last is EntityTooSmall 400', async () => {
    const last = await uploadPart('errors', uploadId, 3, Buffer.from('last'));
    expect(await s3Error(complete('errors', uploadId, [big, small, last]))).toMatchObject({ name: 'EntityTooSmall', status: 400 });
  });

  test('Complete_malformed: no parts, or not the schema, is MalformedXML 400', async () => {
    expect(await s3Error(complete('errors', uploadId, []))).toMatchObject({ name: 'MalformedXML', status: 400 });
    const q = { uploadId };
    for (const body of ['', 'not xml <', '<CompleteMultipartUpload></CompleteMultipartUpload>', '<Other><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Other>', '<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>', '<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>']) {
      const r = await rawRequest('POST', `/${bucket}/errors`, q, body);
      expect([r.status, /<Code>([^<]+)<\/Code>/.exec(r.body)?.[1]]).toEqual([400, 'MalformedXML']);
    }
  });

  test('Complete_conditions: If-None-Match: * on an existing key and a wrong If-Match are PreconditionFailed 412', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'old' }));
    const id = await create('cond');
    const part = await uploadPart('cond', id, 1, Buffer.from('new'));
    expect(await s3Error(complete('cond', id, [part], { IfNoneMatch: '*' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await s3Error(complete('cond', id, [part], { IfMatch: `"${md5(Buffer.from('other'))}"` }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect((await getBody('cond')).toString()).toBe('old');
    await complete('cond', id, [part], { IfMatch: `"${md5(Buffer.from('old'))}"` });
    expect((await getBody('cond')).toString()).toBe('new');
    const fresh = await create('cond-new');
    await complete('cond-new', fresh, [await uploadPart('cond-new', fresh, 1, Buffer.from('x'))], { IfNoneMatch: '*' });
    expect((await getBody('cond-new')).toString()).toBe('x');
  });

  test('Missing bucket: NoSuchBucket 404', async () => {
    expect(await s3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: 'no-such-bucket-mp', Key: 'k' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });
});

describe('checksums', () => {
  test('FULL_OBJECT CRC64NVME: the combined part CRCs are the whole object\'s CRC; GetObject validates it', async () => {
    const data = pseudoRandom(12 * MiB + 333, 77);
    const key = 'full/crc64';
    const result = await new Upload({
      client: s3, params: { Bucket: bucket, Key: key, Body: data, ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' }, partSize: 5 * MiB, queueSize: 4,
    }).done();
    const whole = await crc64Base64(data);
    expect(result).toMatchObject({ ChecksumCRC64NVME: whole, ChecksumType: 'FULL_OBJECT' });
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumCRC64NVME).toBe(whole);
    expect(got.ChecksumType).toBe('FULL_OBJECT');
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true); // the SDK checked the CRC on the way
  });

  test('FULL_OBJECT CRC32 without part checksums: rfs computes each part\'s and combines them', async () => {
    const plain = s3Client(server.url, undefined, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      const parts = [pseudoRandom(5 * MiB, 81), pseudoRandom(123_456, 82)];
      const uploadId = await create('full/crc32', { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }, plain);
      const uploaded = [];
      for (const [i, p] of parts.entries()) {
        const part = await uploadPart('full/crc32', uploadId, i + 1, p, {}, plain);
        expect(part.ChecksumCRC32).toBe(crc32Base64(p));
        uploaded.push({ PartNumber: part.PartNumber, ETag: part.ETag });
      }
      const whole = crc32Base64(Buffer.concat(parts));
      expect(await s3Error(complete('full/crc32', uploadId, uploaded, { ChecksumCRC32: crc32Base64(Buffer.from('wrong')) }))).toMatchObject({ name: 'BadDigest', status: 400 });
      const done = await complete('full/crc32', uploadId, uploaded, { ChecksumCRC32: whole, ChecksumType: 'FULL_OBJECT' });
      expect(done).toMatchObject({ ChecksumCRC32: whole, ChecksumType: 'FULL_OBJECT' });
    } finally {
      plain.destroy();
    }
  });

  test('COMPOSITE SHA256: parts verified at UploadPart; the object checksum is of the part checksums', async () => {
    const parts = [pseudoRandom(5 * MiB, 91), Buffer.from('tail')];
    const uploadId = await create('composite/sha256', { ChecksumAlgorithm: 'SHA256' });
    const uploaded = await Promise.all(parts.map((p, i) => uploadPart('composite/sha256', uploadId, i + 1, p, { ChecksumAlgorithm: 'SHA256' })));
    const sha = (b: Buffer) => createHash('sha256').update(b).digest();
    const expected = `${createHash('sha256').update(Buffer.concat(parts.map(sha))).digest('base64')}-2`;
    const done = await complete('composite/sha256', uploadId, uploaded.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag, ChecksumSHA256: p.ChecksumSHA256 })));
    expect(done).toMatchObject({ ChecksumSHA256: expected, ChecksumType: 'COMPOSITE' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'composite/sha256', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(expected);
  });

  test('Checksum errors: algorithm/type combinations, part checksums, Complete\'s part list', async () => {
    const invalid = { name: 'InvalidRequest', status: 400 };
    expect(await s3Error(create('ck', { ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' }))).toMatchObject(invalid);
    expect(await s3Error(create('ck', { ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'COMPOSITE' }))).toMatchObject(invalid);
    expect(await s3Error(create('ck', { ChecksumType: 'COMPOSITE' }))).toMatchObject(invalid);

    const plain = s3Client(server.url, undefined, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      const uploadId = await create('ck', { ChecksumAlgorithm: 'CRC32' });
      // COMPOSITE needs every part's checksum, of the upload's algorithm, and right.
      expect(await s3Error(uploadPart('ck', uploadId, 1, Buffer.from('abc'), {}, plain))).toMatchObject(invalid);
      expect(await s3Error(uploadPart('ck', uploadId, 1, Buffer.from('abc'), { ChecksumAlgorithm: 'SHA1' }))).toMatchObject(invalid);
      expect(await s3Error(uploadPart('ck', uploadId, 1, Buffer.from('abc'), { ChecksumCRC32: crc32Base64(Buffer.from('abd')) }, plain))).toMatchObject({ name: 'BadDigest', status: 400 });
      const part = await uploadPart('ck', uploadId, 1, Buffer.from('abc'));
      expect(part.ChecksumCRC32).toBe(crc32Base64(Buffer.from('abc')));
      // Complete must repeat each part's checksum, and it must be the stored one.
      expect(await s3Error(complete('ck', uploadId, [{ PartNumber: 1, ETag: part.ETag }]))).toMatchObject(invalid);
      expect(await s3Error(complete('ck', uploadId, [{ ...part, ChecksumCRC32: crc32Base64(Buffer.from('x')) }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
      expect(await s3Error(complete('ck', uploadId, [part], { ChecksumType: 'FULL_OBJECT' }))).toMatchObject(invalid);
      expect(await s3Error(complete('ck', uploadId, [part], { ChecksumCRC32: 'AAAAAA==-1' }))).toMatchObject({ name: 'BadDigest', status: 400 });
      const composite = `${crc32Base64(Buffer.from(crc32Base64(Buffer.from('abc')), 'base64'))}-1`;
      expect(await s3Error(complete('ck', uploadId, [part], { ChecksumCRC32: composite.replace('-1', '-2') }))).toMatchObject({ name: 'BadDigest', status: 400 });
      expect((await complete('ck', uploadId, [part], { ChecksumCRC32: composite })).ChecksumCRC32).toBe(composite);
    } finally {
      plain.destroy();
    }
  });
});

describe('UploadPartCopy', () => {
  const source = pseudoRandom(24 * MiB, 55);
  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy/source', Body: source }));
  });

  test('UploadPartCopy_range: ranges of an object become parts; identical content is not stored twice', async () => {
    const chunks = path.join(server.dataDir, 'chunks');
    const before = (await dirUsage(chunks)).bytes;
    const uploadId = await create('copy/dest');
    const ranges: [number, number][] = [[MiB, 17 * MiB - 1], [20 * MiB, 24 * MiB - 1]];
    const parts: CompletedPart[] = [];
    for (const [i, [a, b]] of ranges.entries()) {
      const r = await s3.send(new UploadPartCopyCommand({
        Bucket: bucket, Key: 'copy/dest', UploadId: uploadId, PartNumber: i + 1, CopySource: `${bucket}/copy/source`, CopySourceRange: `bytes=${a}-${b}`,
      }));
      expect(r.CopyPartResult?.ETag).toBe(`"${md5(source.subarray(a, b + 1))}"`);
      expect(Math.abs(r.CopyPartResult!.LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
      parts.push({ PartNumber: i + 1, ETag: r.CopyPartResult!.ETag });
    }
    await complete('copy/dest', uploadId, parts);
    const expected = Buffer.concat(ranges.map(([a, b]) => source.subarray(a, b + 1)));
    expect((await getBody('copy/dest')).equals(expected)).toBe(true);
    // 20 MiB copied; only the chunks cut anew at the ranges' edges are new bytes on disk.
    expect((await dirUsage(chunks)).bytes - before).toBeLessThan(10 * MiB);
  });

  test('UploadPartCopy_whole and mixed with uploaded parts', async () => {
    const small = Buffer.from('small object');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy/small', Body: small }));
    const uploadId = await create('copy/mixed');
    const first = await uploadPart('copy/mixed', uploadId, 1, pseudoRandom(5 * MiB, 56));
    const copied = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy/mixed', UploadId: uploadId, PartNumber: 2, CopySource: `${bucket}/copy/small` }));
    await complete('copy/mixed', uploadId, [first, { PartNumber: 2, ETag: copied.CopyPartResult!.ETag }]);
    expect((await getBody('copy/mixed')).equals(Buffer.concat([pseudoRandom(5 * MiB, 56), small]))).toBe(true);
  });

  test('UploadPartCopy errors: a range past the source InvalidRange 416, a malformed one InvalidArgument, failed copy-source condition 412, missing source 404', async () => {
    const uploadId = await create('copy/errors');
    const copy = (extra: Record<string, unknown>) =>
      s3Error(s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy/errors', UploadId: uploadId, PartNumber: 1, CopySource: `${bucket}/copy/source`, ...extra })));
    expect(await copy({ CopySourceRange: `bytes=0-${24 * MiB}` })).toMatchObject({ name: 'InvalidRange', status: 416 });
    expect(await copy({ CopySourceRange: 'bytes=5-' })).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await copy({ CopySourceIfMatch: '"0123"' })).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await copy({ CopySource: `${bucket}/copy/nothing-here` })).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await copy({ UploadId: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });
});

describe('listing', () => {
  const listBucket = 'sdk-multipart-list';
  const ids: Record<string, string[]> = {};
  const keys = ['l/a', 'l/a', 'l/b', 'l/c/1', 'l/c/2', 'l/ä b+c', 'other'];
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: listBucket }));
    for (const key of keys) {
      const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: listBucket, Key: key }));
      (ids[key] ??= []).push(r.UploadId!);
    }
    ids['l/a'].sort();
  });

  test('ListParts: part-number-marker, max-parts, NextPartNumberMarker, IsTruncated; owner and checksums', async () => {
    const uploadId = await create('list-parts');
    for (let n = 1; n <= 5; n++) await uploadPart('list-parts', uploadId, n, Buffer.from(`part ${n}`));
    const seen: number[] = [];
    let marker: string | undefined;
    for (let page = 0; page < 3; page++) {
      const r = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'list-parts', UploadId: uploadId, MaxParts: 2, PartNumberMarker: marker }));
      seen.push(...r.Parts!.map((p) => p.PartNumber!));
      expect(r.IsTruncated).toBe(page < 2);
      expect(r.MaxParts).toBe(2);
      expect(r).toMatchObject({ StorageClass: 'STANDARD', Initiator: { ID: expect.stringMatching(/^[0-9a-f]{64}$/) }, Owner: { ID: expect.stringMatching(/^[0-9a-f]{64}$/) } });
      for (const p of r.Parts!) {
        expect(p).toMatchObject({ ETag: `"${md5(Buffer.from(`part ${p.PartNumber}`))}"`, Size: 6, ChecksumCRC32: crc32Base64(Buffer.from(`part ${p.PartNumber}`)) });
        expect(Math.abs(p.LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
      }
      marker = r.NextPartNumberMarker;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    const all = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'list-parts', UploadId: uploadId }));
    expect(all.Parts).toHaveLength(5);
    expect(all.IsTruncated).toBe(false);
    expect(await s3Error(s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'list-parts', UploadId: uploadId, MaxParts: -1 })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
  });

  test('ListMultipartUploads: prefix, delimiter with CommonPrefixes, key and upload-id markers', async () => {
    const first = await s3.send(new ListMultipartUploadsCommand({ Bucket: listBucket, Prefix: 'l/', Delimiter: '/', MaxUploads: 2 }));
    expect(first.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual(ids['l/a'].map((id) => ['l/a', id]));
    expect(first).toMatchObject({ IsTruncated: true, NextKeyMarker: 'l/a', NextUploadIdMarker: ids['l/a'][1], MaxUploads: 2, Prefix: 'l/', Delimiter: '/' });
    expect(first.Uploads![0]).toMatchObject({ StorageClass: 'STANDARD', Initiator: { ID: expect.any(String) }, Owner: { ID: expect.any(String) } });
    expect(Math.abs(first.Uploads![0].Initiated!.getTime() - Date.now())).toBeLessThan(120_000);

    const rest = await s3.send(new ListMultipartUploadsCommand({ Bucket: listBucket, Prefix: 'l/', Delimiter: '/', KeyMarker: first.NextKeyMarker, UploadIdMarker: first.NextUploadIdMarker }));
    expect(rest.Uploads?.map((u) => u.Key)).toEqual(['l/b', 'l/ä b+c']);
    expect(rest.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['l/c/']);
    expect(rest.IsTruncated).toBe(false);

    // Resuming in the middle of a key's uploads, and after a whole key.
    const mid = await s3.send(new ListMultipartUploadsCommand({ Bucket: listBucket, KeyMarker: 'l/a', UploadIdMarker: ids['l/a'][0], MaxUploads: 1 }));
    expect(mid.Uploads?.map((u) => u.UploadId)).toEqual([ids['l/a'][1]]);
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: listBucket, KeyMarker: 'l/a' }));
    expect(after.Uploads?.map((u) => u.Key)).toEqual(['l/b', 'l/c/1', 'l/c/2', 'l/ä b+c', 'other']);
  });

  test('ListMultipartUploads encoding-type=url: keys and prefixes come URL-encoded', async () => {
    const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: listBucket, Prefix: 'l/ä', EncodingType: 'url' }));
    expect(r.EncodingType).toBe('url');
    expect(r.Uploads?.map((u) => decodeURIComponent(u.Key!))).toEqual(['l/ä b+c']);
    expect(r.Uploads?.[0].Key).not.toBe('l/ä b+c');
  });
});

describe('abort, garbage collection and expiry', () => {
  // One server for both (a server takes seconds to start): GC without grace, and uploads
  // expiring after 5 s, swept every 0.2 s.
  let own: TestServer;
  let client: S3Client;
  beforeAll(async () => {
    own = await startTestServer({ RFS_GC_GRACE_SECONDS: '0', RFS_MULTIPART_MAX_AGE_SECONDS: '5', RFS_MULTIPART_SWEEP_SECONDS: '0.2' });
    client = s3Client(own.url);
    await client.send(new CreateBucketCommand({ Bucket: 'abort' }));
  });
  afterAll(() => closeSuite({ server: own, s3: client }));

  const uploads = async () => ((await client.send(new ListMultipartUploadsCommand({ Bucket: 'abort' }))).Uploads ?? []).map((u) => u.UploadId);
  const chunkFiles = async () => (await dirUsage(path.join(own.dataDir, 'chunks'))).files;
  /** Once the chunks' leases (grace 0) are in the past, a GC pass deletes what nothing references. */
  async function collect(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    await own.rfs!.gc.runOnce();
  }

  test('Abort: 204; the upload is gone from the listing; after GC no chunk file is left', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'abort', Key: 'k' }));
    for (const [n, body] of [[1, pseudoRandom(2 * MiB, 3)], [2, Buffer.from('tiny')]] as const) {
      await client.send(new UploadPartCommand({ Bucket: 'abort', Key: 'k', UploadId, PartNumber: n, Body: body }));
    }
    expect(await chunkFiles()).toBeGreaterThan(1);
    expect(await uploads()).toEqual([UploadId]);
    const aborted = await client.send(new AbortMultipartUploadCommand({ Bucket: 'abort', Key: 'k', UploadId }));
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(await uploads()).toEqual([]);
    await collect();
    expect(await chunkFiles()).toBe(0);
  });

  test('Expiry: an upload older than RFS_MULTIPART_MAX_AGE_SECONDS is aborted by the sweeper, its chunks then collected', async () => {
    const created = Date.now();
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'abort', Key: 'expiring' }));
    await client.send(new UploadPartCommand({ Bucket: 'abort', Key: 'expiring', UploadId, PartNumber: 1, Body: pseudoRandom(MiB, 4) }));
    expect(await uploads()).toEqual([UploadId]);
    while ((await uploads()).length > 0) {
      if (Date.now() - created > 30_000) throw new Error('the upload did not expire');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(Date.now() - created).toBeGreaterThan(4500); // not before its time
    const late = client.send(new UploadPartCommand({ Bucket: 'abort', Key: 'expiring', UploadId, PartNumber: 2, Body: 'x' }));
    expect(await s3Error(late)).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    await collect();
    expect(await chunkFiles()).toBe(0);
  });
});
