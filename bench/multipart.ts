import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { MiB, randomPieces } from './data';
import { expectOk, S3Http } from './http';
import { PhaseMonitor, readTreeMemory, totalPss, type PhaseUsage } from './proc';
import { onInterrupt, startServer, type BenchServer } from './server';
import type { Credentials } from './sigv4';

/**
 * The multipart and copy phases of `npm run bench`, each measured against a baseline taken in
 * the same run:
 * - CopyObject of the large object: its time ÷ the PUT's, and how much the data dir grew
 *   (chunks are shared, so it should grow by a metadata row, not by the object).
 * - CompleteMultipartUpload of 10,000 parts (the S3 maximum): its time ÷ the time of
 *   completing a 1-part upload. The server runs with RFS_MULTIPART_MIN_PART_BYTES=1 for this
 *   (S3's 5 MiB minimum would make it 50 GB), and the parts are 1 KiB each.
 * - DeleteObjects of 1,000 keys (one request, one metadata transaction) ÷ 1,000 DeleteObject
 *   requests at the bench's concurrency, on the small objects the bench wrote.
 * - aws cli `s3 cp` of a large file as multipart (8 MiB parts, 10 concurrent), on a server
 *   of its own started for it: throughput ÷ the single-stream PUT's, and the server's peak
 *   PSS over its process tree (target: under 400 MiB), beside its idle PSS.
 */

export interface CopyResult {
  bytes: number;
  seconds: number;
  /** Data dir growth, from `du`, in bytes. */
  diskGrowthBytes: number;
}

export interface CompleteResult {
  parts: number;
  uploadSeconds: number;
  completeSeconds: number;
  onePartCompleteSeconds: number;
}

export interface BulkDeleteResult {
  keys: number;
  bulkSeconds: number;
  singleSeconds: number;
}

export interface CliResult {
  bytes: number;
  /** The fresh server's PSS (whole tree) before the upload. */
  idlePssBytes: number;
  partBytes: number;
  concurrency: number;
  mbps: number;
  usage: PhaseUsage;
  version: string;
}

export function dirBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

export async function copyLarge(client: S3Http, server: BenchServer, dataDir: string, bucket: string, key: string, bytes: number): Promise<CopyResult> {
  const before = dirBytes(dataDir);
  const monitor = new PhaseMonitor(server.pid);
  const res = await client.request({ method: 'PUT', bucket, key: `${key}.copy`, headers: { 'x-amz-copy-source': `/${bucket}/${encodeURIComponent(key)}` } });
  const usage = monitor.stop();
  expectOk(res, `CopyObject ${key}`);
  if (!/<ETag>/.test(res.body.toString())) throw new Error(`CopyObject ${key}: no CopyObjectResult`);
  const head = await client.request({ method: 'HEAD', bucket, key: `${key}.copy` });
  if (head.headers['content-length'] !== String(bytes)) throw new Error(`copy of ${key}: size ${head.headers['content-length']}`);
  return { bytes, seconds: usage.wallSeconds, diskGrowthBytes: dirBytes(dataDir) - before };
}

export async function completeMany(client: S3Http, bucket: string, parts: number, concurrency: number): Promise<CompleteResult> {
  const body = Buffer.alloc(1024, 7);
  // The baseline: completing an upload of one part.
  const one = await startUpload(client, bucket, 'complete-1');
  const oneEtag = await uploadPart(client, bucket, 'complete-1', one, 1, body);
  const t = process.hrtime.bigint();
  await complete(client, bucket, 'complete-1', one, [oneEtag]);
  const onePartCompleteSeconds = Number(process.hrtime.bigint() - t) / 1e9;

  const uploadId = await startUpload(client, bucket, 'complete-many');
  const etags: string[] = new Array(parts);
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < parts) {
        const n = ++next;
        etags[n - 1] = await uploadPart(client, bucket, 'complete-many', uploadId, n, body);
      }
    }),
  );
  const uploadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  await complete(client, bucket, 'complete-many', uploadId, etags);
  const completeSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  const head = await client.request({ method: 'HEAD', bucket, key: 'complete-many' });
  if (head.headers['content-length'] !== String(parts * body.length) || !String(head.headers.etag).endsWith(`-${parts}"`)) {
    throw new Error(`complete-many: HEAD says ${head.headers['content-length']} bytes, ETag ${head.headers.etag}`);
  }
  return { parts, uploadSeconds, completeSeconds, onePartCompleteSeconds };
}

/** Deletes `keys.length / 2` keys with one DeleteObjects, and as many others one request
 * each, `concurrency` at a time; both halves must be gone afterwards. */
export async function deleteMany(client: S3Http, bucket: string, keys: string[], concurrency: number): Promise<BulkDeleteResult> {
  const half = keys.length / 2;
  const bulk = keys.slice(0, half);
  const single = keys.slice(half);
  const xml = Buffer.from(`<Delete><Quiet>true</Quiet>${bulk.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`);
  const t0 = process.hrtime.bigint();
  const res = await client.request({ method: 'POST', bucket, query: { delete: '' }, body: xml, headers: { 'content-md5': createHash('md5').update(xml).digest('base64') } });
  const bulkSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  expectOk(res, 'DeleteObjects');
  if (/<Error>/.test(res.body.toString())) throw new Error(`DeleteObjects: ${res.body.toString().slice(0, 300)}`);
  const t1 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < single.length) expectOk(await client.request({ method: 'DELETE', bucket, key: single[next++] }), 'DeleteObject');
    }),
  );
  const singleSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  for (const k of [bulk[0], single[0]]) {
    if ((await client.request({ method: 'HEAD', bucket, key: k })).status !== 404) throw new Error(`${k} survived its delete`);
  }
  return { keys: half, bulkSeconds, singleSeconds };
}

async function startUpload(client: S3Http, bucket: string, key: string): Promise<string> {
  const res = await client.request({ method: 'POST', bucket, key, query: { uploads: '' } });
  expectOk(res, `CreateMultipartUpload ${key}`);
  const id = /<UploadId>([^<]+)<\/UploadId>/.exec(res.body.toString())?.[1];
  if (!id) throw new Error(`CreateMultipartUpload ${key}: no UploadId`);
  return id;
}

async function uploadPart(client: S3Http, bucket: string, key: string, uploadId: string, n: number, body: Buffer): Promise<string> {
  const res = await client.request({ method: 'PUT', bucket, key, query: { partNumber: String(n), uploadId }, body });
  expectOk(res, `UploadPart ${n}`);
  return String(res.headers.etag);
}

async function complete(client: S3Http, bucket: string, key: string, uploadId: string, etags: string[]): Promise<void> {
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const res = await client.request({ method: 'POST', bucket, key, query: { uploadId }, body: Buffer.from(xml) });
  expectOk(res, `CompleteMultipartUpload ${key}`);
  if (/<Error>/.test(res.body.toString())) throw new Error(`CompleteMultipartUpload ${key}: ${res.body.toString().slice(0, 300)}`);
}

/** `aws --version`, or undefined when the cli is not installed. */
export function awsVersion(): string | undefined {
  try {
    return execFileSync('aws', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return undefined;
  }
}

/** Uploads a file of `bytes` with `aws s3 cp` (multipart) to a fresh server, watching it. */
export async function awsCliUpload(root: Credentials, bytes: number, scratch: string, version: string): Promise<CliResult> {
  const dir = await mkdtemp(path.join(scratch, 'rfs-bench-cli-'));
  const partBytes = 8 * MiB;
  const concurrency = 10;
  const bucket = 'bench-cli';
  let server: BenchServer | undefined;
  let forget: () => void = () => undefined;
  try {
    const file = path.join(dir, 'big.bin');
    const out = createWriteStream(file);
    for (const piece of randomPieces(bytes, MiB, 11)) if (!out.write(piece)) await once(out, 'drain');
    out.end();
    await once(out, 'close');
    await writeFile(path.join(dir, 'config'), `[default]\nregion = us-east-1\ns3 =\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n  max_concurrent_requests = ${concurrency}\n`);
    server = await startServer(path.join(dir, 'data'), root);
    const client = new S3Http(server.url, root, 1);
    expectOk(await client.request({ method: 'PUT', bucket }), 'CreateBucket');
    client.close();
    const idlePssBytes = totalPss(readTreeMemory(server.pid));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_CONFIG_FILE: path.join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), AWS_ACCESS_KEY_ID: root.accessKeyId, AWS_SECRET_ACCESS_KEY: root.secretKey };
    const monitor = new PhaseMonitor(server.pid);
    const child = spawn('aws', ['--endpoint-url', server.url, 's3', 'cp', '--only-show-errors', file, `s3://${bucket}/big.bin`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    forget = onInterrupt(async () => {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    const usage = monitor.stop();
    if (code !== 0) throw new Error(`aws s3 cp exited ${code}: ${stderr.slice(0, 500)}`);
    return { bytes, idlePssBytes, partBytes, concurrency, mbps: bytes / 1e6 / usage.wallSeconds, usage, version };
  } finally {
    forget();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
