import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { S3Client } from '@aws-sdk/client-s3';
import { closeSuite, openSuite, pseudoRandom, type TestServer, objectBytes as getBytes } from '../harness';
import { MiB, clientGate, expectBucketEmpty, listAllKeys, tempDir } from '../clients';
import { fuseProbe, unmount, waitForMount, type FuseProbe } from '../fuse';
import { MULTIPART_FLAGS, Rclone, rcloneProbe } from './rclone';

/**
 * `rclone mount` of an rfs bucket: files written, read, renamed and removed through the
 * kernel, each step checked through the S3 API. VFS cache mode off: a write streams straight
 * to rfs (multipart, as its size is unknown) and close() returns once the object exists.
 */
const probe = rcloneProbe();
const fuse: FuseProbe = probe.ok ? fuseProbe() : { ok: false, reason: 'rclone is missing' };
const suite = clientGate('rclone mount', probe, 'apt-get install rclone');
if (probe.ok && !fuse.ok) {
  const banner = '='.repeat(78);
  console.warn(`${banner}\nSKIPPED (FUSE unavailable, kernel feature): rclone mount suite: ${fuse.reason}\n${banner}`);
}

(fuse.ok ? suite : describe.skip)('rclone mount', () => {
  const bucket = 'rclone-mount';
  let server: TestServer;
  let s3: S3Client;
  let rclone: Rclone;
  let work: string;
  let mnt: string;
  let mount: { child: ChildProcess; log: () => string } | undefined;
  const big = pseudoRandom(6 * MiB + 5, 77); // over the 5 MiB part size: a two-part upload

  beforeAll(async () => {
    ({ server, s3 } = await openSuite(bucket));
    rclone = await Rclone.create(probe.bin!, server.url);
    work = await tempDir('rclone-mount');
    mnt = path.join(work, 'mnt');
    await mkdir(mnt);
    mount = rclone.spawn(['mount', `rfs:${bucket}`, mnt, '--vfs-cache-mode', 'off', '--dir-cache-time', '1s', ...MULTIPART_FLAGS]);
    await waitForMount(mnt, mount.child, mount.log);
  }, 120_000);

  afterAll(async () => {
    if (mnt) await unmount(fuse.fusermount!, mnt, mount?.child);
    await closeSuite({ server, s3 });
    await rclone?.close();
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  const objectBytes = (key: string) => getBytes(s3, bucket, key);


  const keys = async () => (await listAllKeys(s3, bucket)).map((o) => o.key);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  test('WriteRead: files written through the mount are objects with the same bytes, and read back', async () => {
    await writeFile(path.join(mnt, 'hello.txt'), 'hello through FUSE\n');
    await writeFile(path.join(mnt, 'big.bin'), big);
    expect(await keys()).toEqual(['big.bin', 'hello.txt']);
    expect((await objectBytes('hello.txt')).toString()).toBe('hello through FUSE\n');
    expect(sha(await objectBytes('big.bin'))).toBe(sha(big));
    expect(sha(await readFile(path.join(mnt, 'big.bin')))).toBe(sha(big));
    expect(await readFile(path.join(mnt, 'hello.txt'), 'utf8')).toBe('hello through FUSE\n');
  }, 300_000);

  test('MkdirRenameLs: a file in a new directory; renaming a file and the directory moves the objects', async () => {
    await mkdir(path.join(mnt, 'dir'));
    await writeFile(path.join(mnt, 'dir', 'f.txt'), 'in a directory');
    await rename(path.join(mnt, 'hello.txt'), path.join(mnt, 'renamed.txt'));
    await rename(path.join(mnt, 'dir'), path.join(mnt, 'dir2'));
    expect((await readdir(mnt)).sort()).toEqual(['big.bin', 'dir2', 'renamed.txt']);
    expect(await readdir(path.join(mnt, 'dir2'))).toEqual(['f.txt']);
    expect(await keys()).toEqual(['big.bin', 'dir2/f.txt', 'renamed.txt']);
    expect((await objectBytes('renamed.txt')).toString()).toBe('hello through FUSE\n');
    expect((await objectBytes('dir2/f.txt')).toString()).toBe('in a directory');
  }, 300_000);

  test('Remove: unlink and rmdir through the mount leave the bucket empty', async () => {
    await unlink(path.join(mnt, 'dir2', 'f.txt'));
    await rmdir(path.join(mnt, 'dir2'));
    await unlink(path.join(mnt, 'renamed.txt'));
    await unlink(path.join(mnt, 'big.bin'));
    expect(await readdir(mnt)).toEqual([]);
    await expectBucketEmpty(s3, bucket);
  }, 300_000);
});
