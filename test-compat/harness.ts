import { rm } from 'node:fs/promises';
import { tempDataDir } from '../metadata/temp-dir.testing';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CreateBucketCommand, GetObjectCommand, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { loadConfig } from '../gateway/config';
import { startRfs, type Rfs } from '../gateway/app';

/**
 * Starts real rfs servers for the compatibility suite: in process (a real listener on an
 * ephemeral 127.0.0.1 port, a temp data dir per suite), or as a child process for tests that
 * kill it or measure its memory. RFS_TEST_ENDPOINT points every suite at an external server.
 */
export const ROOT = { accessKeyId: 'RFSTESTROOTKEY000001', secretKey: 'rfs-test-secret-key-0000000000000000000' };

export interface TestServer {
  url: string;
  dataDir: string;
  rfs?: Rfs;
  close(): Promise<void>;
}

export { tempDataDir };

export async function startTestServer(env: Record<string, string> = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? (await tempDataDir());
  const config = loadConfig({
    RFS_PORT: '0',
    RFS_DATA_DIR: dir,
    RFS_ROOT_ACCESS_KEY: ROOT.accessKeyId,
    RFS_ROOT_SECRET_KEY: ROOT.secretKey,
    RFS_LOG_LEVEL: 'warn',
    ...env,
  });
  const rfs = await startRfs(config);
  return {
    url: rfs.url,
    dataDir: dir,
    rfs,
    async close() {
      await rfs.close();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A server with one bucket and an SDK client for it: the usual start of a suite. */
export async function openSuite(bucket: string, env: Record<string, string> = {}): Promise<{ server: TestServer; s3: S3Client }> {
  const server = await startTestServer(env);
  const s3 = s3Client(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { server, s3 };
}

export async function closeSuite(suite: { server?: TestServer; s3?: S3Client }): Promise<void> {
  suite.s3?.destroy();
  await suite.server?.close();
}

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

/** rfs as `npm start` runs it: the compiled server (`npm test` builds it first), in its own
 * process, so tests can kill it and measure its memory. */
export async function startChildServer(dataDir: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const root = path.resolve(__dirname, '..');
  const main = path.join(root, 'dist/gateway/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does) first`);
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      ...process.env,
      RFS_PORT: '0',
      RFS_DATA_DIR: dataDir,
      RFS_ROOT_ACCESS_KEY: ROOT.accessKeyId,
      RFS_ROOT_SECRET_KEY: ROOT.secretKey,
      RFS_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rfs did not start:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((how) => reject(new Error(`rfs exited (${how}) before listening:\n${output}`)));
  });
  return {
    url,
    process: child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function s3Client(url: string, keys = ROOT, extra: S3ClientConfig = {}): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretKey },
    ...extra,
  });
}

/** Deterministic pseudo-random bytes (xorshift), fast enough for hundreds of MiB. */
export function pseudoRandom(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed | 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeInt32LE(x, i);
  }
  for (; i < size; i++) out[i] = i & 0xff;
  return out;
}

/** What an SDK call that must fail failed with: S3's code (the exception's name), the HTTP
 * status, the message and the response headers. Throws if the call succeeded or failed
 * without an S3 answer. */
export async function s3Error(p: Promise<unknown>): Promise<{ name: string; status?: number; message: string; headers: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) {
      const headers = (e.$response?.headers ?? {}) as Record<string, string>;
      return { name: e.name, status: e.$metadata.httpStatusCode, message: e.message, headers };
    }
    throw e;
  }
  throw new Error('expected an S3 error');
}

/** An object's whole body through the SDK. */
export async function objectBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}
