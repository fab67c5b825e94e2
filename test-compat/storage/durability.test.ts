import http from 'node:http';
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { pseudoRandom, s3Client, startChildServer, startTestServer, tempDataDir } from '../harness';
import { signRequest } from '../http/signing';
import { dirUsage, MiB } from './disk';

/** Restarts, crashes and garbage collection, against real processes and real disks. */
let dir: string;
beforeEach(async () => {
  dir = await tempDataDir('durability');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function body(s3: ReturnType<typeof s3Client>, bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

test('Restart_betweenWriteAndRead: buckets and objects survive a clean restart', async () => {
  const data = pseudoRandom(3 * MiB, 5);
  let server = await startChildServer(dir);
  let s3 = s3Client(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'keep' }));
  await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'big', Body: data, Metadata: { a: 'b' } }));
  await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'small', Body: 'inline' }));
  s3.destroy();
  await server.stop();
  expect(await server.exited).toBe(0); // SIGTERM: clean shutdown
  // ...of the embedded PostgreSQL too: it removes its pid file only when it has stopped.
  expect(existsSync(path.join(dir, 'meta', 'postmaster.pid'))).toBe(false);

  server = await startChildServer(dir);
  s3 = s3Client(server.url);
  try {
    expect((await body(s3, 'keep', 'big')).equals(data)).toBe(true);
    expect((await body(s3, 'keep', 'small')).toString()).toBe('inline');
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'keep', Key: 'big' }))).Metadata).toEqual({ a: 'b' });
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'keep' }))).KeyCount).toBe(2);
  } finally {
    s3.destroy();
    await server.stop();
  }
});

test('Crash_midPut: kill -9 during a PUT leaves no object, keeps the old one, and GC removes the orphans', async () => {
  const old = pseudoRandom(2 * MiB, 8);
  let server = await startChildServer(dir);
  let s3 = s3Client(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));
  await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'old', Body: old }));
  await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'victim', Body: 'before the crash' }));
  s3.destroy();
  const committed = (await dirUsage(path.join(dir, 'chunks'))).files;

  // Stream 40 MiB of a declared 100 MiB over the victim, then kill the server outright.
  const total = 100 * MiB;
  const s = await signRequest(server.url, { method: 'PUT', path: '/crash/victim', headers: { 'content-length': String(total) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const req = http.request(s.url, { method: 'PUT', headers: s.headers });
  req.on('error', () => undefined);
  for (let sent = 0; sent < 40 * MiB; sent += MiB) {
    if (!req.write(pseudoRandom(MiB, 1000 + sent / MiB))) await new Promise((r) => req.once('drain', r));
  }
  // Wait until the server has written some of those chunks durably, then crash it.
  for (let i = 0; i < 100 && (await dirUsage(path.join(dir, 'chunks'))).files <= committed + 5; i++) await new Promise((r) => setTimeout(r, 100));
  expect((await dirUsage(path.join(dir, 'chunks'))).files).toBeGreaterThan(committed + 5);
  server.process.kill('SIGKILL');
  expect(await server.exited).toBe('SIGKILL');
  req.destroy();

  server = await startChildServer(dir, { RFS_GC_INTERVAL_SECONDS: '1', RFS_GC_GRACE_SECONDS: '0' });
  s3 = s3Client(server.url);
  try {
    expect((await body(s3, 'crash', 'victim')).toString()).toBe('before the crash');
    // The orphans go; the committed object's chunks stay.
    let files = Infinity;
    for (let i = 0; i < 100 && files > committed; i++) {
      await new Promise((r) => setTimeout(r, 200));
      files = (await dirUsage(path.join(dir, 'chunks'))).files;
    }
    expect(files).toBe(committed);
    expect((await body(s3, 'crash', 'old')).equals(old)).toBe(true);
  } finally {
    s3.destroy();
    await server.stop();
  }
});

test('GC_race: a chunk reclaimed by a PUT while GC runs is never deleted under it', async () => {
  const server = await startTestServer({ RFS_GC_GRACE_SECONDS: '1', RFS_GC_INTERVAL_SECONDS: '3600' }, dir);
  const s3 = s3Client(server.url);
  const gc = server.rfs!.gc;
  const data = pseudoRandom(12 * MiB, 77);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'race' }));
    await s3.send(new PutObjectCommand({ Bucket: 'race', Key: 'a', Body: data }));
    const chunks = (await dirUsage(path.join(dir, 'chunks'))).files;
    await s3.send(new PutObjectCommand({ Bucket: 'race', Key: 'a', Body: 'x' })); // drops every chunk reference
    await new Promise((r) => setTimeout(r, 1100));
    expect((await gc.runOnce())!.deleted).toBe(0); // first seen unreferenced: not yet past the grace period
    await new Promise((r) => setTimeout(r, 1100));

    // A new PUT of the same bytes claims the first chunks again, then pauses mid-body.
    const s = await signRequest(server.url, { method: 'PUT', path: '/race/b', headers: { 'content-length': String(data.length) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    let req!: http.ClientRequest;
    const answered = new Promise<number>((resolve, reject) => {
      req = http.request(s.url, { method: 'PUT', headers: s.headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
    });
    await new Promise<void>((resolve) => req.write(data.subarray(0, 9 * MiB), () => resolve()));
    await new Promise((r) => setTimeout(r, 500)); // let the server cut and claim those chunks
    const report = (await gc.runOnce())!;
    // The unclaimed tail was collected; the reclaimed head was not.
    expect(report.deleted).toBeGreaterThan(0);
    expect(report.deleted).toBeLessThan(chunks);
    req.end(data.subarray(9 * MiB));
    expect(await answered).toBe(200);
    expect((await body(s3, 'race', 'b')).equals(data)).toBe(true);
  } finally {
    s3.destroy();
    await server.close();
  }
});

test('FailedPuts_leakNothing: a client disconnect and a bad checksum leave no chunk past GC', async () => {
  const server = await startTestServer({ RFS_GC_GRACE_SECONDS: '0', RFS_GC_INTERVAL_SECONDS: '3600' }, dir);
  const s3 = s3Client(server.url);
  const chunkDir = path.join(dir, 'chunks');
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'leak' }));
    const kept = pseudoRandom(6 * MiB, 3);
    await s3.send(new PutObjectCommand({ Bucket: 'leak', Key: 'kept', Body: kept }));
    const committed = (await dirUsage(chunkDir)).files;

    // A multi-chunk body with a wrong CRC32: every chunk is written before the check fails.
    await expect(s3.send(new PutObjectCommand({ Bucket: 'leak', Key: 'bad-crc', Body: pseudoRandom(8 * MiB, 4), ChecksumCRC32: 'AAAAAA==' }))).rejects.toMatchObject({ name: 'BadDigest' });
    // A client that goes away after 6 MiB of a declared 20.
    const s = await signRequest(server.url, { method: 'PUT', path: '/leak/cut', headers: { 'content-length': String(20 * MiB) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    await new Promise<void>((resolve) => {
      const req = http.request(s.url, { method: 'PUT', headers: s.headers });
      req.on('error', () => resolve());
      req.write(pseudoRandom(6 * MiB, 5), () => setTimeout(() => { req.destroy(); resolve(); }, 300));
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await dirUsage(chunkDir)).files).toBeGreaterThan(committed); // the failures did write chunks

    await server.rfs!.gc.runOnce();
    expect((await dirUsage(chunkDir)).files).toBe(committed);
    expect((await body(s3, 'leak', 'kept')).equals(kept)).toBe(true);
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'leak', Key: 'bad-crc' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'leak', Key: 'cut' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  } finally {
    s3.destroy();
    await server.close();
  }
});
