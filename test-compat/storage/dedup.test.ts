import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pseudoRandom, type TestServer, openSuite, closeSuite } from '../harness';
import { dirUsage, MiB } from './disk';

/** Dedup and compression, measured on disk (the chunk store's files), through real PUTs. */
let server: TestServer;
let s3: S3Client;
const bucket = 'dedup';
const chunkDir = () => path.join(server.dataDir, 'chunks');

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

async function put(key: string, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function get(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Log lines like a web service writes: timestamps, levels, ids, paths, latencies. */
function logText(size: number): Buffer {
  const levels = ['INFO', 'INFO', 'INFO', 'WARN', 'DEBUG', 'ERROR'];
  const paths = ['/api/v1/users', '/api/v1/orders', '/healthz', '/api/v2/search', '/static/app.js'];
  const lines: string[] = [];
  let n = 0;
  let bytes = 0;
  let seed = 12345;
  const rnd = (m: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % m;
  };
  while (bytes < size) {
    const t = new Date(Date.UTC(2026, 0, 1) + n * 137).toISOString();
    const line = `${t} ${levels[rnd(levels.length)]} [req-${(100000 + rnd(900000)).toString(16)}] ${['GET', 'POST'][rnd(2)]} ${paths[rnd(paths.length)]}?page=${rnd(50)} status=${[200, 200, 201, 404, 500][rnd(5)]} duration_ms=${rnd(2000)} user_id=${rnd(10000)}\n`;
    lines.push(line);
    bytes += line.length;
    n++;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

test('Dedup_sameBody: one 64 MiB body under 10 keys is stored about once', async () => {
  const data = pseudoRandom(64 * MiB, 42);
  const before = (await dirUsage(chunkDir())).bytes;
  for (let i = 0; i < 10; i++) await put(`copy/${i}`, data);
  const grown = (await dirUsage(chunkDir())).bytes - before;
  expect(grown).toBeGreaterThan(63 * MiB); // random data: stored, not compressed away
  expect(grown).toBeLessThan(66 * MiB); // not 640 MiB
  expect((await get('copy/7')).equals(data)).toBe(true);
});

test('Dedup_insertInMiddle: 1 MiB inserted mid-file adds less than 8 MiB', async () => {
  const data = pseudoRandom(64 * MiB, 42);
  const edited = Buffer.concat([data.subarray(0, 32 * MiB), pseudoRandom(MiB, 99), data.subarray(32 * MiB)]);
  const before = (await dirUsage(chunkDir())).bytes;
  await put('edited', edited);
  const grown = (await dirUsage(chunkDir())).bytes - before;
  expect(grown).toBeLessThan(8 * MiB);
  expect((await get('edited')).equals(edited)).toBe(true);
});

test('Compression_logText: 64 MiB of log-like text takes under 40% of its size', async () => {
  const text = logText(64 * MiB);
  const before = (await dirUsage(chunkDir())).bytes;
  await put('logs/app.log', text);
  const grown = (await dirUsage(chunkDir())).bytes - before;
  expect(grown).toBeLessThan(0.4 * text.length);
  expect((await get('logs/app.log')).equals(text)).toBe(true);
});

test('Compression_random: incompressible data does not grow on disk', async () => {
  const data = pseudoRandom(16 * MiB, 7);
  const before = await dirUsage(chunkDir());
  await put('random', data);
  const after = await dirUsage(chunkDir());
  // Per chunk file only a few header bytes beyond the data itself.
  expect(after.bytes - before.bytes).toBeLessThanOrEqual(data.length + 64 * (after.files - before.files));
});
