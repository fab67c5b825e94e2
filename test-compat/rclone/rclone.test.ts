import { appendFile, readFile, rm, stat, unlink, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { closeSuite, openSuite, type TestServer } from '../harness';
import {
  MiB, clientGate, expectBucketEmpty, expectSameTree, listAllKeys, multipartETag, realisticTree, tempDir, treeKeys, writeTree, type TreeFile,
} from '../clients';
import { MULTIPART_FLAGS, Rclone, rcloneProbe } from './rclone';

/**
 * rclone (the Debian package) against a real rfs listener: copy up and down, sync after
 * local changes, check, lsf/lsjson, delete and purge, on the realistic tree (empty and
 * 1-byte files, both sides of 5 MiB, 100 MiB, odd names, nested directories) with multipart
 * crossed (5 MiB cutoff and parts), compared byte-exact. The mount is in rclone-mount.test.ts.
 */
const probe = rcloneProbe();

clientGate('rclone', probe, 'apt-get install rclone')('rclone', () => {
  const bucket = 'rclone-tree';
  const remote = `rfs:${bucket}/tree`;
  const files: TreeFile[] = realisticTree();
  let server: TestServer;
  let s3: S3Client;
  let rclone: Rclone;
  let work: string;
  let src: string;
  let downloads = 0;

  beforeAll(async () => {
    ({ server, s3 } = await openSuite(bucket));
    rclone = await Rclone.create(probe.bin!, server.url);
    work = await tempDir('rclone');
    src = path.join(work, 'src');
    await writeTree(src, files);
  }, 300_000);

  afterAll(async () => {
    await closeSuite({ server, s3 });
    await rclone?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** `rclone copy <remote> <fresh dir>`: the bucket as a user would get it back. */
  async function download(): Promise<string> {
    const dst = path.join(work, `download-${downloads++}`);
    await rclone.ok(['copy', remote, dst]);
    return dst;
  }

  /** The keys S3 lists under tree/ against the files of the local source tree. */
  async function expectRemoteMatchesLocal(tree: TreeFile[]): Promise<void> {
    expect(await listAllKeys(s3, bucket, 'tree/')).toEqual(treeKeys(tree, 'tree/'));
  }

  test('Copy: every file becomes an object, ETag single-part below 5 MiB and multipart (5 MiB parts) above', async () => {
    await rclone.ok(['copy', src, remote, ...MULTIPART_FLAGS]);
    await expectRemoteMatchesLocal(files);
    for (const f of files) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `tree/${f.path}` }));
      expect([f.path, head.ETag]).toEqual([f.path, await multipartETag(path.join(src, f.path), 5 * MiB)]);
    }
  }, 600_000);

  test('CopyBack: rclone copy from rfs gives the tree back byte-exact', async () => {
    await expectSameTree(await download(), src);
  }, 600_000);

  test('Check: rclone check finds 0 differences (MD5 from ETags and multipart metadata)', async () => {
    const r = await rclone.run(['check', src, remote]);
    expect({ code: r.code, out: r.stderr }).toEqual({ code: 0, out: expect.stringContaining('0 differences found') });
    expect(r.stderr).toContain(`${files.length} matching files`);
  }, 600_000);

  test('LsfLsjson: names, sizes, MD5s and modification times as the local files have them', async () => {
    const lsf = await rclone.ok(['lsf', '-R', '--files-only', remote]);
    expect(lsf.split('\n').filter(Boolean).sort()).toEqual(files.map((f) => f.path).sort());

    const entries = JSON.parse(await rclone.ok(['lsjson', '-R', '--files-only', '--hash', remote])) as {
      Path: string; Size: number; ModTime: string; IsDir: boolean; Hashes?: { md5?: string };
    }[];
    expect(entries.map((e) => e.Path).sort()).toEqual(files.map((f) => f.path).sort());
    for (const e of entries) {
      const local = path.join(src, e.Path);
      const md5 = (await multipartETag(local, Number.MAX_SAFE_INTEGER)).slice(1, -1);
      expect({ path: e.Path, size: e.Size, md5: e.Hashes?.md5 }).toEqual({ path: e.Path, size: (await stat(local)).size, md5 });
      // rclone keeps the mtime in x-amz-meta-mtime: it must come back as it went up.
      expect(Math.abs(Date.parse(e.ModTime) - (await stat(local)).mtimeMs)).toBeLessThan(1000);
    }
  }, 600_000);

  test('Sync: a changed size, a same-size edit, a deletion and an addition reach the bucket, nothing else', async () => {
    const tree = files.filter((f) => f.path !== 'nested/deep/er/leaf.bin');
    await unlink(path.join(src, 'nested/deep/er/leaf.bin'));
    await appendFile(path.join(src, 'one-byte.bin'), 'grown');
    const sameSize = path.join(src, 'odd names/with space.txt');
    const before = await readFile(sameSize);
    await new Promise((r) => setTimeout(r, 20)); // a later mtime, so rclone looks at the hash
    await writeFile(sameSize, Buffer.from(before.map((b) => b ^ 0xff)));
    await mkdir(path.join(src, 'added/later'), { recursive: true });
    await writeFile(path.join(src, 'added/later/new.txt'), 'new file');
    const after = [
      ...tree.map((f) => (f.path === 'one-byte.bin' ? { ...f, size: 6 } : f)),
      { path: 'added/later/new.txt', size: 8, seed: 0 },
    ];

    await rclone.ok(['sync', src, remote, ...MULTIPART_FLAGS]);
    await expectRemoteMatchesLocal(after);
    const check = await rclone.run(['check', src, remote]);
    expect({ code: check.code, out: check.stderr }).toEqual({ code: 0, out: expect.stringContaining('0 differences found') });
    await expectSameTree(await download(), src);
    // A second sync finds nothing to do.
    const again = await rclone.run(['sync', src, remote, ...MULTIPART_FLAGS, '-v']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/: Copied|: Deleted/);
  }, 600_000);

  test('DeletePurge: rclone delete with a filter removes just those; purge removes the rest', async () => {
    const before = await listAllKeys(s3, bucket, 'tree/');
    await rclone.ok(['delete', remote, '--include', '*.txt']);
    expect(await listAllKeys(s3, bucket, 'tree/')).toEqual(before.filter((o) => !o.key.endsWith('.txt')));
    await rclone.ok(['purge', remote]);
    await expectBucketEmpty(s3, bucket);
    expect((await rclone.ok(['lsf', '-R', `rfs:${bucket}`])).trim()).toBe('');
  }, 600_000);
});
