import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { s3Client, startTestServer, type TestServer } from '../harness';
import {
  MiB,
  clientGate,
  expectBucketEmpty,
  expectSameTree,
  listAllKeys,
  multipartETag,
  probeCommand,
  realisticTree,
  tempDir,
  treeKeys,
  writeTree,
} from '../clients';
import { S3cmd, actionLines, parseLs } from './s3cmd';

/**
 * s3cmd (Debian's package) against a real rfs listener: mb, put (single and multipart in
 * 5 MiB parts), ls/la/du/info, get, sync both ways, del, rb, on the realistic tree. The AWS
 * SDK v3 client only looks from the outside (keys, ETags, nothing left behind).
 */
const probe = probeCommand('s3cmd', ['--version']);
const describeS3cmd = clientGate('s3cmd', probe, 'apt-get install s3cmd');

const md5File = async (file: string) => {
  const hash = createHash('md5');
  for await (const data of createReadStream(file)) hash.update(data as Buffer);
  return hash.digest('hex');
};

describeS3cmd(`s3cmd (${probe.version ?? 'not installed'})`, () => {
  let server: TestServer;
  let s3: S3Client;
  let s3cmd: S3cmd;
  let work: string;
  const bucket = 's3cmd-tree';
  const url = `s3://${bucket}`;
  // s3cmd carries every odd name of the tree (it percent-encodes the request path itself).
  const files = realisticTree();
  const src = () => path.join(work, 'src');

  beforeAll(async () => {
    server = await startTestServer();
    s3 = s3Client(server.url);
    s3cmd = await S3cmd.create(probe, server.url);
    work = await tempDir('s3cmd-work');
    await writeTree(src(), files);
  });
  afterAll(async () => {
    s3?.destroy();
    await s3cmd?.close();
    if (work) await rm(work, { recursive: true, force: true });
    await server?.close();
  });

  test('MakeBucket: mb creates the bucket and ls lists it', async () => {
    expect(await s3cmd.ok(['mb', url])).toContain(`Bucket '${url}/' created`);
    expect(await s3cmd.ok(['ls'])).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d  ${url}$`, 'm'));
  });

  test('Put_recursive: the tree goes up, above 5 MiB in 5 MiB parts (multipart ETags)', async () => {
    const out = await s3cmd.ok(['put', '--recursive', '--multipart-chunk-size-mb=5', `${src()}/`, `${url}/tree/`]);
    expect(actionLines(out, 'upload')).toHaveLength(files.length);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'tree/' }));
    const got = (listed.Contents ?? []).map((c) => ({ key: c.Key!, size: c.Size, etag: c.ETag }));
    const expected = await Promise.all(
      treeKeys(files, 'tree/').map(async ({ key, size }) => ({ key, size, etag: await multipartETag(path.join(src(), key.slice(5)), 5 * MiB) })),
    );
    expect(got).toEqual(expected);
    expect(got.find((o) => o.key === 'tree/sizes/5MiB-plus-1.bin')!.etag).toMatch(/-2"$/);
  }, 300_000);

  test('Ls_La_Du: directory view, recursive listing, all buckets, disk usage', async () => {
    const top = parseLs(await s3cmd.ok(['ls', `${url}/tree/`]), bucket);
    expect(top.dirs).toEqual(['tree/nested/', 'tree/odd names/', 'tree/sizes/']);
    expect(top.files).toEqual([{ key: 'tree/empty.txt', size: 0 }, { key: 'tree/one-byte.bin', size: 1 }]);

    const all = parseLs(await s3cmd.ok(['ls', '--recursive', `${url}/tree/`]), bucket);
    expect(all).toEqual({ dirs: [], files: treeKeys(files, 'tree/') });

    const la = await s3cmd.ok(['la']);
    expect(la).toContain(`DIR  ${url}/tree/`);

    const total = files.reduce((n, f) => n + f.size, 0);
    const du = (await s3cmd.ok(['du', url])).trim();
    expect(du).toMatch(new RegExp(`^${total}\\s+${files.length} objects ${url}/$`));
  });

  test('Info: size and the MD5 s3cmd recorded, for a multipart and a single-part object', async () => {
    for (const rel of ['sizes/100MiB.bin', 'odd names/ünïcödé 日本語 😀.txt']) {
      const out = await s3cmd.ok(['info', `${url}/tree/${rel}`]);
      const size = files.find((f) => f.path === rel)!.size;
      expect(out).toContain(`${url}/tree/${rel} (object):`);
      expect(out).toMatch(new RegExp(`File size: ${size}\\n`));
      expect(out).toContain(`MD5 sum:   ${await md5File(path.join(src(), rel))}`);
    }
  });

  test('Get_recursive: the tree comes down byte-exact', async () => {
    await mkdir(path.join(work, 'got')); // s3cmd wants an existing directory for many sources
    const out = await s3cmd.ok(['get', '--recursive', `${url}/tree/`, `${path.join(work, 'got')}/`]);
    expect(actionLines(out, 'download')).toHaveLength(files.length);
    await expectSameTree(path.join(work, 'got'), src());
  }, 300_000);

  test('Put_Get_single: one file under an odd key, up and down', async () => {
    const file = path.join(src(), 'sizes', '5MiB-plus-1.bin');
    await s3cmd.ok(['put', '--multipart-chunk-size-mb=5', file, `${url}/single/a b+c&d=e.bin`]);
    const out = path.join(work, 'single.bin');
    await s3cmd.ok(['get', `${url}/single/a b+c&d=e.bin`, out]);
    expect(await md5File(out)).toBe(await md5File(file));
    await s3cmd.ok(['del', `${url}/single/a b+c&d=e.bin`]);
  }, 120_000);

  describe('sync', () => {
    const small = realisticTree({ large: false }); // the 100 MiB file already made its round trip
    const syncSrc = () => path.join(work, 'sync-src');
    const syncDst = () => path.join(work, 'sync-dst');
    beforeAll(() => writeTree(syncSrc(), small));

    test('Sync_up: first sync sends everything, the second nothing, a changed file alone is re-sent', async () => {
      const first = await s3cmd.ok(['sync', '--multipart-chunk-size-mb=5', `${syncSrc()}/`, `${url}/sync/`]);
      expect(actionLines(first, 'upload')).toHaveLength(small.length);
      expect(await listAllKeys(s3, bucket, 'sync/')).toEqual(treeKeys(small, 'sync/'));

      const second = await s3cmd.ok(['sync', '--multipart-chunk-size-mb=5', `${syncSrc()}/`, `${url}/sync/`]);
      expect(actionLines(second, 'upload')).toEqual([]);

      // Same size, new bytes: only the MD5 can tell, and s3cmd compares it.
      const changed = path.join(syncSrc(), 'sizes', '5MiB-plus-1.bin');
      await writeTree(syncSrc(), [{ path: 'sizes/5MiB-plus-1.bin', size: 5 * MiB + 1, seed: 999 }]);
      const third = await s3cmd.ok(['sync', '--multipart-chunk-size-mb=5', `${syncSrc()}/`, `${url}/sync/`]);
      expect(actionLines(third, 'upload')).toEqual([expect.stringContaining(`'${changed}' -> '${url}/sync/sizes/5MiB-plus-1.bin'`)]);
    }, 120_000);

    test('Sync_down: the prefix comes down byte-exact; a second sync fetches nothing', async () => {
      const first = await s3cmd.ok(['sync', `${url}/sync/`, `${syncDst()}/`]);
      expect(actionLines(first, 'download')).toHaveLength(small.length);
      await expectSameTree(syncDst(), syncSrc());
      const second = await s3cmd.ok(['sync', `${url}/sync/`, `${syncDst()}/`]);
      expect(actionLines(second, 'download')).toEqual([]);
    }, 120_000);

    test('Sync_deleteRemoved: a file removed locally is deleted remotely', async () => {
      await rm(path.join(syncSrc(), 'odd names', 'a+b.txt'));
      const out = await s3cmd.ok(['sync', '--delete-removed', `${syncSrc()}/`, `${url}/sync/`]);
      expect(actionLines(out, 'delete')).toEqual([`delete: '${url}/sync/odd names/a+b.txt'`]);
      expect(actionLines(out, 'upload')).toEqual([]);
      expect(await listAllKeys(s3, bucket, 'sync/')).toEqual(treeKeys(small.filter((f) => f.path !== 'odd names/a+b.txt'), 'sync/'));
    }, 120_000);
  });

  describe('errors', () => {
    test('Info_missing: exit 12 (not found) and a 404', async () => {
      const r = await s3cmd.run(['info', `${url}/absent`]);
      expect(r.code).toBe(12);
      expect(r.stderr).toContain('404');
    });

    test('RemoveBucket_notEmpty: exit 13 (conflict) and BucketNotEmpty', async () => {
      const r = await s3cmd.run(['rb', url]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 13, stderr: expect.stringContaining('409 (BucketNotEmpty)') });
    });
  });

  test('Del_RemoveBucket: del --recursive empties the bucket, rb removes it', async () => {
    const before = await listAllKeys(s3, bucket);
    const out = await s3cmd.ok(['del', '--recursive', '--force', `${url}/`]);
    expect(actionLines(out, 'delete')).toHaveLength(before.length);
    await expectBucketEmpty(s3, bucket);
    expect(await s3cmd.ok(['rb', url])).toContain(`Bucket '${url}/' removed`);
    expect(await s3cmd.ok(['ls'])).not.toContain(url);
  }, 120_000);

  test('ListBucket_removed: ls of the removed bucket exits 12 with NoSuchBucket', async () => {
    const r = await s3cmd.run(['ls', url]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 12, stderr: expect.stringContaining('NoSuchBucket') });
  });
});
