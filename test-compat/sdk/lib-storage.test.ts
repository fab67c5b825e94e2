import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from '@node-rs/crc32';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { closeSuite, openSuite, pseudoRandom, type TestServer } from '../harness';

/**
 * @aws-sdk/lib-storage's Upload (the SDK's managed transfer) against a real listener: a
 * stream of unknown length cut into parts and sent several at a time, at explicit and at
 * default settings, read back byte-exact; and an aborted Upload, which must leave no
 * multipart upload behind.
 */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-lib-storage';
const MiB = 1024 * 1024;

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

/** Deterministic bytes as 1 MiB blocks (harness.pseudoRandom per block), the last one short. */
function* blocks(size: number, seed: number): Generator<Buffer> {
  for (let done = 0, i = 0; done < size; done += MiB, i++) yield pseudoRandom(Math.min(MiB, size - done), seed * 1000 + i);
}

/** A Readable of `size` pseudo-random bytes, generated as it is read: never one Buffer. */
const stream = (size: number, seed: number) => Readable.from(blocks(size, seed), { objectMode: false });

/** What S3 reports for those bytes sent in `partSize` parts: SHA-256 and MD5 of the whole, the
 * multipart ETag ("md5 of part MD5s"-N) and the composite CRC32 (crc32 of part CRCs-N). */
function expected(size: number, seed: number, partSize: number): { sha256: string; md5: string; etag: string; crc32: string } {
  const whole = createHash('sha256');
  const wholeMd5 = createHash('md5');
  const md5s: Buffer[] = [];
  const crcs: Buffer[] = [];
  let part = createHash('md5');
  let crc = 0;
  let inPart = 0;
  const close = () => {
    md5s.push(part.digest());
    crcs.push(u32(crc));
    part = createHash('md5');
    crc = 0;
    inPart = 0;
  };
  for (const block of blocks(size, seed)) {
    whole.update(block);
    wholeMd5.update(block);
    for (let b = block; b.length > 0; ) {
      const take = b.subarray(0, partSize - inPart);
      part.update(take);
      crc = crc32(take, crc);
      inPart += take.length;
      b = b.subarray(take.length);
      if (inPart === partSize) close();
    }
  }
  if (inPart > 0) close();
  const n = md5s.length;
  return {
    sha256: whole.digest('hex'),
    md5: wholeMd5.digest('hex'),
    etag: `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${n}"`,
    crc32: `${u32(crc32(Buffer.concat(crcs))).toString('base64')}-${n}`,
  };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** SHA-256 and length of an object, hashed as the GET streams. */
async function digestOf(key: string): Promise<{ size: number; sha256: string }> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of r.Body as Readable) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

async function pendingUploads(): Promise<string[]> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (r.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
}

test('Upload_stream_queue4: ~40 MiB Readable in 5 MiB parts, 4 at a time; bytes and ETag exact', async () => {
  const size = 40 * MiB + 777; // 9 parts, the last 777 bytes
  const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: 'stream/q4.bin', Body: stream(size, 1) }, partSize: 5 * MiB, queueSize: 4 });
  const parts = new Set<number>();
  upload.on('httpUploadProgress', (p) => p.part !== undefined && parts.add(p.part));
  const result = await upload.done();
  const want = expected(size, 1, 5 * MiB);
  expect(result.ETag).toBe(want.etag);
  expect([...parts].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(await digestOf('stream/q4.bin')).toEqual({ size, sha256: want.sha256 });
  expect(await pendingUploads()).toEqual([]);
}, 300_000);

test('Upload_stream_defaults: SDK defaults (5 MiB parts, CRC32 per part); composite checksum reported', async () => {
  const size = 12 * MiB + 1; // 3 parts
  const result = await new Upload({ client: s3, params: { Bucket: bucket, Key: 'stream/defaults.bin', Body: stream(size, 2) } }).done();
  const want = expected(size, 2, 5 * MiB);
  expect(result.ETag).toBe(want.etag);
  expect(await digestOf('stream/defaults.bin')).toEqual({ size, sha256: want.sha256 });
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'stream/defaults.bin', ChecksumMode: 'ENABLED' }));
  expect(head.ContentLength).toBe(size);
  expect(head.ETag).toBe(want.etag);
  expect(head.ChecksumCRC32).toBe(want.crc32);
}, 300_000);

test('Upload_stream_small: a stream shorter than one part goes up as a single PutObject', async () => {
  const size = 3 * MiB + 5;
  const result = await new Upload({ client: s3, params: { Bucket: bucket, Key: 'stream/small.bin', Body: stream(size, 3) } }).done();
  const want = expected(size, 3, 5 * MiB);
  expect(result.ETag).toBe(`"${want.md5}"`);
  expect(await digestOf('stream/small.bin')).toEqual({ size, sha256: want.sha256 });
}, 120_000);

test('Upload_aborted: abort after the first part; AbortError, and no upload and no object left', async () => {
  const key = 'stream/aborted.bin';
  const body = stream(40 * MiB, 4);
  const abortController = new AbortController();
  const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body }, partSize: 5 * MiB, queueSize: 4, abortController });
  let seenPending: string[] | undefined;
  upload.on('httpUploadProgress', () => {
    if (seenPending) return;
    seenPending = [];
    // A part went up, so the upload exists: list it (the check below is then not vacuous), then abort.
    void pendingUploads().then((p) => {
      seenPending = p;
      abortController.abort();
    });
  });
  const err = await upload.done().then(() => undefined, (e: unknown) => e as Error);
  expect(err?.name).toBe('AbortError');
  // done() rejects at once; the SDK aborts the upload when its in-flight parts return.
  const deadline = Date.now() + 60_000;
  let pending = await pendingUploads();
  while (pending.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    pending = await pendingUploads();
  }
  body.destroy();
  expect(seenPending).toHaveLength(1);
  expect(seenPending![0].startsWith(`${key} `)).toBe(true);
  expect(pending).toEqual([]);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => 200,
    (e: unknown) => (e instanceof S3ServiceException ? e.$metadata.httpStatusCode : e),
  );
  expect(head).toBe(404);
}, 120_000);
