import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ROOT, closeSuite, openSuite, pseudoRandom, type TestServer, objectBytes as getBytes } from '../harness';
import { MiB, clientGate, expectBucketEmpty, listAllKeys, probeCommand, tempDir } from '../clients';
import { fuseProbe, unmount, waitForMount, type FuseProbe } from '../fuse';

/**
 * s3fs-fuse (the Debian package) mounting an rfs bucket: files written, read, appended,
 * renamed, chmod-ed and removed, directories made, renamed and removed, all through the
 * kernel; after each step the S3 API (SDK) must show exactly the objects the file system
 * shows. s3fs uploads on close, so every check runs once the syscall has returned.
 */
const probe = probeCommand('s3fs', ['--version']);
const fuse: FuseProbe = probe.ok ? fuseProbe() : { ok: false, reason: 's3fs is missing' };
const suite = clientGate('s3fs', probe, 'apt-get install s3fs');
if (probe.ok && !fuse.ok) {
  const banner = '='.repeat(78);
  console.warn(`${banner}\nSKIPPED (FUSE unavailable, kernel feature): s3fs suite: ${fuse.reason}\n${banner}`);
}

(fuse.ok ? suite : describe.skip)('s3fs', () => {
  const bucket = 's3fs-mount';
  let server: TestServer;
  let s3: S3Client;
  let work: string;
  let mnt: string;
  let child: ChildProcess | undefined;
  let log = '';
  const big = pseudoRandom(12 * MiB + 3, 31); // over multipart_threshold (6 MB): a multipart upload

  beforeAll(async () => {
    ({ server, s3 } = await openSuite(bucket));
    work = await tempDir('s3fs');
    mnt = path.join(work, 'mnt');
    await mkdir(mnt);
    const passwd = path.join(work, 'passwd');
    await writeFile(passwd, `${ROOT.accessKeyId}:${ROOT.secretKey}\n`, { mode: 0o600 }); // s3fs refuses a readable one
    const options = [
      `passwd_file=${passwd}`,
      `url=${server.url}`,
      'use_path_request_style',
      'sigv4', // never fall back to signature v2
      'endpoint=us-east-1',
      'multipart_size=5',
      'multipart_threshold=6', // s3fs 1.90 rejects 5 ("must be at least 5242880, was: 5242880")
      'retries=1', // a request rfs gets wrong fails the syscall instead of being retried into success
      'dbglevel=info',
    ];
    child = spawn(probe.bin!, [bucket, mnt, '-f', ...options.flatMap((o) => ['-o', o])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (log = (log + d.toString()).slice(-64 * 1024));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await waitForMount(mnt, child, () => log);
  }, 120_000);

  afterAll(async () => {
    if (mnt) await unmount(fuse.fusermount!, mnt, child);
    await closeSuite({ server, s3 });
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  const objectBytes = (key: string) => getBytes(s3, bucket, key);


  const keys = async () => (await listAllKeys(s3, bucket)).map((o) => o.key);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const at = (...parts: string[]) => path.join(mnt, ...parts);

  /** Every file under the mount (recursively) → its bytes' SHA-256, and every directory. */
  async function mountView(): Promise<{ files: Record<string, string>; dirs: string[] }> {
    const files: Record<string, string> = {};
    const dirs: string[] = [];
    for (const e of await readdir(mnt, { recursive: true, withFileTypes: true })) {
      const rel = path.relative(mnt, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/');
      if (e.isDirectory()) dirs.push(rel);
      else files[rel] = sha(await readFile(at(rel)));
    }
    return { files, dirs: dirs.sort() };
  }

  /** The same view from the S3 API: objects (directory markers aside) with their bytes. */
  async function bucketView(): Promise<{ files: Record<string, string>; dirs: string[] }> {
    const files: Record<string, string> = {};
    const dirs = new Set<string>();
    for (const key of await keys()) {
      const parts = key.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      if (!key.endsWith('/')) files[key] = sha(await objectBytes(key));
    }
    return { files, dirs: [...dirs].sort() };
  }

  test('WriteRead: small and multipart files written through the mount are the objects S3 lists', async () => {
    await writeFile(at('small.txt'), 'hello s3fs\n');
    await writeFile(at('big.bin'), big);
    expect(await keys()).toEqual(['big.bin', 'small.txt']);
    expect((await objectBytes('small.txt')).toString()).toBe('hello s3fs\n');
    expect(sha(await objectBytes('big.bin'))).toBe(sha(big));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    // Multipart crossed. How s3fs cuts the parts depends on how the kernel hands it the writes
    // (5+5+2 MiB or 10+2 MiB have both been seen), so only "several parts" is asserted.
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-([2-9]|[1-9]\d+)"$/);
    expect(head.Metadata?.mode).toBe(String((await stat(at('big.bin'))).mode)); // s3fs keeps st_mode in x-amz-meta-mode
    expect(sha(await readFile(at('big.bin')))).toBe(sha(big));
    expect(await readFile(at('small.txt'), 'utf8')).toBe('hello s3fs\n');
  }, 300_000);

  test('Append: appending rewrites the object with the old bytes and the new', async () => {
    await appendFile(at('small.txt'), 'and more\n');
    expect(await readFile(at('small.txt'), 'utf8')).toBe('hello s3fs\nand more\n');
    expect((await objectBytes('small.txt')).toString()).toBe('hello s3fs\nand more\n');
  }, 120_000);

  test('Chmod: a metadata-only change (copy onto itself, REPLACE) keeps the bytes', async () => {
    await chmod(at('big.bin'), 0o640);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    expect(Number(head.Metadata?.mode) & 0o777).toBe(0o640);
    expect((await stat(at('big.bin'))).mode & 0o777).toBe(0o640);
    expect(sha(await objectBytes('big.bin'))).toBe(sha(big));
  }, 120_000);

  test('MkdirLs: mkdir makes a dir/ marker; ls shows what the bucket holds', async () => {
    await mkdir(at('dir1'));
    await mkdir(at('dir1', 'inner'));
    await writeFile(at('dir1', 'a.txt'), 'file in dir1');
    const marker = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir1/' }));
    expect(marker.ContentLength).toBe(0);
    expect(await keys()).toEqual(['big.bin', 'dir1/', 'dir1/a.txt', 'dir1/inner/', 'small.txt']);
    expect((await readdir(mnt)).sort()).toEqual(['big.bin', 'dir1', 'small.txt']);
    expect((await readdir(at('dir1'))).sort()).toEqual(['a.txt', 'inner']);
    expect(await mountView()).toEqual(await bucketView());
  }, 120_000);

  test('RenameFile: the object moves (copy + delete) with its bytes', async () => {
    await rename(at('small.txt'), at('renamed.txt'));
    expect(await keys()).toEqual(['big.bin', 'dir1/', 'dir1/a.txt', 'dir1/inner/', 'renamed.txt']);
    expect((await objectBytes('renamed.txt')).toString()).toBe('hello s3fs\nand more\n');
    expect(await mountView()).toEqual(await bucketView());
  }, 120_000);

  test('RenameDirectory: every object and marker under it moves', async () => {
    await rename(at('dir1'), at('dir2'));
    expect(await keys()).toEqual(['big.bin', 'dir2/', 'dir2/a.txt', 'dir2/inner/', 'renamed.txt']);
    expect((await objectBytes('dir2/a.txt')).toString()).toBe('file in dir1');
    expect(await mountView()).toEqual(await bucketView());
  }, 120_000);

  test('RmRmdir: unlink and rmdir delete the objects and markers; the bucket ends empty', async () => {
    await expect(rmdir(at('dir2'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await unlink(at('dir2', 'a.txt'));
    await rmdir(at('dir2', 'inner'));
    await rmdir(at('dir2'));
    await unlink(at('renamed.txt'));
    await unlink(at('big.bin'));
    expect(await readdir(mnt)).toEqual([]);
    await expectBucketEmpty(s3, bucket);
  }, 120_000);
});
