import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants, createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { ListObjectVersionsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/**
 * Shared by every real-client suite (awscli, boto3, s3cmd, rclone, s3fs, s3a): finding a
 * client, gating a suite on it (skip loudly, or fail under CI=true), running it, and the
 * realistic job every client does: a tree of mixed sizes and odd names, uploaded,
 * downloaded and compared byte-exact.
 */

export const MiB = 1024 * 1024;
export const ci = process.env.CI === 'true';

// ---------------------------------------------------------------- finding and gating

/** What a probe found: the client runs (with its version), or why it does not. */
export interface Probe {
  ok: boolean;
  /** Absolute path of the binary (or interpreter) to run. */
  bin?: string;
  /** First line of its version output. */
  version?: string;
  /** Why the client is unusable, for the skip/fail message. */
  reason?: string;
}

/** The absolute path of an executable named `name` on PATH (or `name` itself if absolute). */
export function findBinary(name: string): string | undefined {
  const candidates = path.isAbsolute(name) ? [name] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, name));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here: try the next PATH entry
    }
  }
  return undefined;
}

/**
 * Runs `name versionArgs...` once: ok when it exits 0, version = its first non-empty output
 * line. `env` is added to process.env for that run.
 */
export function probeCommand(name: string, versionArgs: string[] = ['--version'], env: Record<string, string> = {}): Probe {
  const bin = findBinary(name);
  if (!bin) return { ok: false, reason: `\`${name}\` is not on PATH` };
  const r = spawnSync(bin, versionArgs, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  if (r.error || r.status !== 0) {
    return { ok: false, bin, reason: `\`${bin} ${versionArgs.join(' ')}\` failed: ${r.error?.message ?? `exit ${r.status}`} ${(r.stderr ?? '').trim()}`.trim() };
  }
  const version = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).find((l) => l !== '');
  return { ok: true, bin, version };
}

/**
 * The first Python interpreter among `candidates` that can import `module`, with the
 * module's version. Debian's python3-boto3 goes with /usr/bin/python3, which may not be the
 * python3 first on PATH (pyenv), so the system one is tried first.
 */
export function probePythonModule(module: string, candidates = ['/usr/bin/python3', 'python3']): Probe {
  const reasons: string[] = [];
  for (const name of candidates) {
    const bin = findBinary(name);
    if (!bin) {
      reasons.push(`${name}: not found`);
      continue;
    }
    const r = spawnSync(bin, ['-c', `import ${module}; print(${module}.__version__)`], { encoding: 'utf8', timeout: 60_000 });
    if (!r.error && r.status === 0) return { ok: true, bin, version: `${module} ${r.stdout.trim()} (${bin})` };
    reasons.push(`${bin}: cannot import ${module}`);
  }
  return { ok: false, reason: reasons.join('; ') };
}

/**
 * The `describe` to use for a client's suite. With the client present: `describe`. Without
 * it: a console.warn saying why and how to install it, and `describe.skip`; under CI=true
 * additionally a suite with one failing test, so a missing client can never pass CI.
 */
export function clientGate(suite: string, probe: Probe, install: string): jest.Describe {
  if (probe.ok) return describe;
  const why = `${suite} suite needs its client: ${probe.reason ?? 'not available'}; install it with: ${install}`;
  const banner = '='.repeat(78);
  console.warn(`${banner}\n${ci ? 'FAILING (CI=true)' : 'SKIPPED'}: ${why}\n${banner}`);
  if (ci) {
    describe(`${suite} client presence`, () => {
      test(`${suite}_installed: the client runs (a missing client fails under CI=true)`, () => {
        throw new Error(why);
      });
    });
  }
  return describe.skip;
}

// ---------------------------------------------------------------- running

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Written to the child's stdin, then closed (otherwise stdin is closed at once). */
  input?: string | Buffer;
}

/** execFile (argument list, never a shell) resolving with the exit code whatever it is. */
export function runCommand(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 * MiB, timeout: opts.timeoutMs ?? 300_000 },
      (err, stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        if (err && typeof code !== 'number') {
          reject(new Error(`${bin} ${args.join(' ')} did not run or was killed: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err ? (code as number) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input);
  });
}

/** runCommand that requires exit 0; the error carries the command, stdout and stderr. */
export async function runOk(bin: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runCommand(bin, args, opts);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** A fresh directory under the OS temp dir; the caller removes it in afterAll. */
export const tempDir = (prefix: string) => mkdtemp(path.join(tmpdir(), `rfs-${prefix}-`));

// ---------------------------------------------------------------- the realistic tree

/** One file of a test tree: a '/'-separated relative path, a size, and the seed of its bytes. */
export interface TreeFile {
  path: string;
  size: number;
  seed: number;
}

/**
 * Odd characters in names, each with the file that carries it, so a suite can leave out
 * what its client cannot carry (and say so in a comment): `realisticTree({ without: ['#'] })`.
 */
export const ODD_NAMES: Record<string, string> = {
  ' ': 'odd names/with space.txt',
  unicode: 'odd names/ünïcödé 日本語 😀.txt',
  '+': 'odd names/a+b.txt',
  '=': 'odd names/key=value.txt',
  '%': 'odd names/100%.txt',
  '&': 'odd names/this&that.txt',
  '#': 'odd names/hash#tag.txt',
  '?': 'odd names/why?.txt',
  "'": "odd names/it's.txt",
  '()': 'odd names/(parens) [brackets].txt',
  '~': 'odd names/tilde~.txt',
};

export interface TreeOptions {
  /** Include the 100 MiB file (default true). */
  large?: boolean;
  /** Keys of ODD_NAMES whose files to leave out. */
  without?: string[];
}

/**
 * The realistic tree: empty and 1-byte files, both sides of 5 MiB (the usual multipart part
 * size), 100 MiB of pseudo-random bytes, odd names, and nested directories.
 */
export function realisticTree(opts: TreeOptions = {}): TreeFile[] {
  const files: TreeFile[] = [
    { path: 'empty.txt', size: 0, seed: 1 },
    { path: 'one-byte.bin', size: 1, seed: 2 },
    { path: 'sizes/5MiB-minus-1.bin', size: 5 * MiB - 1, seed: 3 },
    { path: 'sizes/5MiB-plus-1.bin', size: 5 * MiB + 1, seed: 4 },
    { path: 'nested/deep/er/leaf.bin', size: 300_000, seed: 5 }, // over the 64 KiB inline limit
    { path: 'nested/deep/er/empty', size: 0, seed: 6 },
    { path: 'nested/sp ace+plus/ü.txt', size: 17, seed: 7 },
  ];
  if (opts.large ?? true) files.push({ path: 'sizes/100MiB.bin', size: 100 * MiB, seed: 8 });
  let seed = 100;
  for (const [what, file] of Object.entries(ODD_NAMES)) {
    if (!opts.without?.includes(what)) files.push({ path: file, size: 10 + (seed % 50), seed: seed++ });
  }
  return files;
}

/** Writes `size` pseudo-random bytes (xorshift32, like harness.pseudoRandom) in 1 MiB blocks. */
export async function writePseudoRandomFile(file: string, size: number, seed: number): Promise<void> {
  const out = createWriteStream(file);
  let x = seed | 0 || 1;
  const block = Buffer.allocUnsafe(MiB);
  for (let done = 0; done < size; ) {
    const n = Math.min(MiB, size - done);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      block.writeInt32LE(x, i);
    }
    for (; i < n; i++) block[i] = (done + i) & 0xff;
    done += n;
    // A copy per write: the stream may still hold the previous one when we refill the block.
    if (!out.write(Buffer.from(block.subarray(0, n)))) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

/** Writes `files` under `dir` (created as needed). */
export async function writeTree(dir: string, files: TreeFile[]): Promise<void> {
  for (const f of files) {
    const full = path.join(dir, ...f.path.split('/'));
    await mkdir(path.dirname(full), { recursive: true });
    await writePseudoRandomFile(full, f.size, f.seed);
  }
}

/** The object keys `files` become under `prefix`, sorted in UTF-8 byte order as S3 lists them. */
export function treeKeys(files: TreeFile[], prefix = ''): { key: string; size: number }[] {
  return files
    .map((f) => ({ key: prefix + f.path, size: f.size }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
}

async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return `${size} bytes sha256:${hash.digest('hex')}`;
}

/**
 * The ETag S3 gives `file` uploaded in parts of `partSize` bytes (the last one shorter):
 * "<md5 of the parts' binary MD5s>-<part count>". Files up to one part get their plain MD5
 * here too, which is what a client that stays under its multipart threshold sees.
 */
export async function multipartETag(file: string, partSize: number): Promise<string> {
  const parts: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  for await (const data of createReadStream(file, { highWaterMark: MiB })) {
    for (let buf = data as Buffer; buf.length > 0; ) {
      const take = Math.min(buf.length, partSize - inPart);
      part.update(buf.subarray(0, take));
      inPart += take;
      buf = buf.subarray(take);
      if (inPart === partSize) {
        parts.push(part.digest());
        part = createHash('md5');
        inPart = 0;
      }
    }
  }
  if (inPart > 0 || parts.length === 0) parts.push(part.digest());
  if (parts.length === 1) return `"${parts[0].toString('hex')}"`;
  return `"${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}"`;
}

/**
 * relative '/'-separated path → "<size> bytes sha256:<hex>" for every regular file under
 * `dir` (streamed: a 100 MiB file is never held in memory). Directories are not listed.
 */
export async function treeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    out[path.relative(dir, full).split(path.sep).join('/')] = await fileDigest(full);
  }
  return out;
}

/**
 * Byte-exact comparison of two directories: the same set of files, each with the same size
 * and SHA-256. Fails with jest's diff of the two listings.
 */
export async function expectSameTree(actualDir: string, expectedDir: string): Promise<void> {
  const [actual, expected] = await Promise.all([treeDigest(actualDir), treeDigest(expectedDir)]);
  expect(Object.keys(expected).length).toBeGreaterThan(0); // comparing two empty dirs proves nothing
  expect(actual).toEqual(expected);
}

// ---------------------------------------------------------------- bucket state

/** Every key in the bucket (under `prefix`), with sizes, in listing order. */
export async function listAllKeys(s3: S3Client, bucket: string, prefix?: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const c of page.Contents ?? []) out.push({ key: c.Key!, size: c.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Nothing left behind: no current object, and no noncurrent version or delete marker. */
export async function expectBucketEmpty(s3: S3Client, bucket: string): Promise<void> {
  expect(await listAllKeys(s3, bucket)).toEqual([]);
  const v = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  expect([...(v.Versions ?? []), ...(v.DeleteMarkers ?? [])].map((e) => e.Key)).toEqual([]);
}
