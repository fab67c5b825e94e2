import http from 'node:http';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { pseudoRandom, s3Client, startChildServer, tempDataDir, type ChildServer } from '../harness';
import { signRequest } from '../http/signing';
import { MiB, treePss } from './disk';

/**
 * Bounded memory whatever the object size: a 2 GiB PUT and GET keep the server's memory under
 * 300 MiB, and a reader that stops reading gets backpressure, not buffering. The server runs
 * as `npm start` does, in its own process, and is measured as its whole process tree (PSS of
 * rfs and its embedded PostgreSQL).
 */
const SIZE = 2 * 1024 * MiB;
const LIMIT = 300 * MiB;
let dir: string;
let server: ChildServer;
let digest: string;

beforeAll(async () => {
  dir = await tempDataDir('memory');
  server = await startChildServer(dir);
  const s3 = s3Client(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'mem' }));
  s3.destroy();
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Samples the server's memory (PSS over its process tree, its PostgreSQL included) every
 * 100 ms while `work` runs; returns the highest sample. */
async function peakMemory<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = treePss(server.process.pid!);
  const timer = setInterval(() => (peak = Math.max(peak, treePss(server.process.pid!))), 100);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
  }
}

test('PutObject_2GiB: server RSS stays under 300 MiB', async () => {
  const s = await signRequest(server.url, { method: 'PUT', path: '/mem/big', headers: { 'content-length': String(SIZE) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const { result: status, peak } = await peakMemory(
    () =>
      new Promise<number>((resolve, reject) => {
        const md5 = createHash('md5');
        const req = http.request(s.url, { method: 'PUT', headers: s.headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        let i = 0;
        const pump = () => {
          while (i < SIZE / MiB) {
            const piece = pseudoRandom(MiB, i++ + 1);
            md5.update(piece);
            if (!req.write(piece)) return void req.once('drain', pump);
          }
          digest = md5.digest('hex');
          req.end();
        };
        pump();
      }),
  );
  expect(status).toBe(200);
  expect(peak).toBeLessThan(LIMIT);
}, 300_000);

test('GetObject_2GiB: server RSS stays under 300 MiB and every byte comes back', async () => {
  const s = await signRequest(server.url, { method: 'GET', path: '/mem/big' }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const { result, peak } = await peakMemory(
    () =>
      new Promise<{ bytes: number; md5: string }>((resolve, reject) => {
        http.get(s.url, { headers: s.headers }, (res) => {
          const md5 = createHash('md5');
          let bytes = 0;
          res.on('data', (d: Buffer) => {
            bytes += d.length;
            md5.update(d);
          });
          res.on('end', () => resolve({ bytes, md5: md5.digest('hex') }));
          res.on('error', reject);
        }).on('error', reject);
      }),
  );
  expect(result).toEqual({ bytes: SIZE, md5: digest });
  expect(peak).toBeLessThan(LIMIT);
}, 300_000);

test('GetObject_slowReader: a reader that stops reading holds the server at a few chunks', async () => {
  const s = await signRequest(server.url, { method: 'GET', path: '/mem/big' }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const before = treePss(server.process.pid!);
  let received = 0;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(s.url, { headers: s.headers }, resolve).on('error', reject));
  res.on('data', (d: Buffer) => {
    received += d.length;
    res.pause(); // read one piece, then stall
  });
  await new Promise((r) => setTimeout(r, 3000));
  const during = treePss(server.process.pid!);
  res.destroy();
  // Socket buffers plus read-ahead: far below the 2 GiB the server would hold if it did not wait.
  expect(received).toBeLessThan(16 * MiB);
  expect(during - before).toBeLessThan(64 * MiB);
});
