import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pseudoRandom, s3Client, startTestServer, type TestServer } from '../harness';
import {
  MiB,
  clientGate,
  expectBucketEmpty,
  expectSameTree,
  listAllKeys,
  multipartETag,
  realisticTree,
  treeKeys,
  writeTree,
} from '../clients';
import { AwsCli, awsVersion, type CliResult } from './cli';

/**
 * The aws cli (1.x or 2.x, whichever `aws` is on PATH) against a real rfs listener: the
 * high-level `aws s3` commands, `aws s3api`, errors as the cli reports them, and presigned
 * URLs. Every call goes through execFile with --endpoint-url and credentials from the
 * environment only (see cli.ts). Without the cli the suite is skipped, loudly, except under
 * CI=true, where a missing cli is a failure.
 */
const version = awsVersion();
const describeAws = clientGate(
  'awscli',
  version ? { ok: true, version } : { ok: false, reason: '`aws --version` failed' },
  'apt-get install awscli',
);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The keys of `aws s3 ls --recursive` output ("2024-01-01 12:00:00       1234 some key"). */
function lsKeys(stdout: string): { key: string; size: number }[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +(\d+) (.*)$/.exec(l);
      if (!m) throw new Error(`unexpected aws s3 ls line: ${JSON.stringify(l)}`);
      return { key: m[2], size: Number(m[1]) };
    });
}

/** Tags in key order: S3 does not promise an order in a TagSet. */
const sortTags = (tags: { Key: string; Value: string }[]) => [...tags].sort((a, b) => byteOrder(a.Key, b.Key));

/** The non-empty lines of `aws s3` transfer output (progress lines end in \r, results in \n). */
const outputLines = (stdout: string) => stdout.split(/[\r\n]+/).filter((l) => l.trim() !== '');

/** The exit code for "the service returned an error": 255 in aws-cli 1.x, 254 in 2.x. */
const SERVICE_ERROR = version?.startsWith('aws-cli/2.') ? 254 : 255;

/** The stderr of a command the service failed, after checking its exit code. */
function failed(r: CliResult): string {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: SERVICE_ERROR });
  return r.stderr;
}

describeAws(`aws cli (${version ?? 'not installed'})`, () => {
  let server: TestServer;
  let s3: S3Client;
  let aws: AwsCli;
  let work: string;

  beforeAll(async () => {
    server = await startTestServer();
    s3 = s3Client(server.url);
    aws = await AwsCli.create(server.url);
    work = await mkdtemp(path.join(tmpdir(), 'rfs-awscli-work-'));
  });
  test('Aws_version: the cli is 1.x or 2.x', () => {
    expect(version).toMatch(/^aws-cli\/[12]\.\d+/);
  });

  afterAll(async () => {
    s3?.destroy();
    await aws?.close();
    if (work) await rm(work, { recursive: true, force: true });
    await server?.close();
  });

  describe('aws s3', () => {
    const bucket = 'cli-s3';

    test('S3_mb_ls: mb creates the bucket and ls lists it', async () => {
      expect(await aws.ok(['s3', 'mb', `s3://${bucket}`])).toContain(`make_bucket: ${bucket}`);
      const lines = (await aws.ok(['s3', 'ls'])).split('\n').filter((l) => l.trim() !== '');
      expect(lines.map((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (.+)$/.exec(l)?.[1])).toContain(bucket);
    });

    test('S3_cp_sizes: empty, 1 B, 1 MiB + 1 and 20 MiB (four 5 MiB parts) files go up and come down byte-exact', async () => {
      const files: [string, Buffer][] = [
        ['empty.bin', Buffer.alloc(0)],
        ['one.bin', Buffer.from('x')],
        ['mib-plus-one.bin', pseudoRandom(1024 * 1024 + 1, 31)],
        ['twenty-mib.bin', pseudoRandom(20 * 1024 * 1024, 32)], // multipart: see the threshold in cli.ts
      ];
      await mkdir(path.join(work, 'up'), { recursive: true });
      await mkdir(path.join(work, 'down'), { recursive: true });
      for (const [name, data] of files) await writeFile(path.join(work, 'up', name), data);
      const ups = await Promise.all(files.map(([name]) => aws.run(['s3', 'cp', path.join(work, 'up', name), `s3://${bucket}/sizes/${name}`])));
      ups.forEach((r, i) => expect({ file: files[i][0], ...r }).toMatchObject({ file: files[i][0], code: 0, stdout: expect.stringContaining(`upload: `) }));
      const downs = await Promise.all(files.map(([name]) => aws.run(['s3', 'cp', `s3://${bucket}/sizes/${name}`, path.join(work, 'down', name)])));
      downs.forEach((r, i) => expect({ file: files[i][0], ...r }).toMatchObject({ file: files[i][0], code: 0, stdout: expect.stringContaining(`download: `) }));
      for (const [name, data] of files) {
        const got = await readFile(path.join(work, 'down', name));
        expect({ name, size: got.length, sha256: sha256(got) }).toEqual({ name, size: data.length, sha256: sha256(data) });
      }
      const twenty = await aws.api(['head-object', '--bucket', bucket, '--key', 'sizes/twenty-mib.bin']);
      expect(twenty.ETag).toBe(await multipartETag(path.join(work, 'up', 'twenty-mib.bin'), 5 * MiB));
      expect(twenty.ETag).toMatch(/-4"$/);
    }, 120_000);

    test('S3_recursive: odd names in nested dirs go up, list, come down byte-exact, and rm empties the prefix', async () => {
      const tree: Record<string, Buffer> = {
        'top.txt': Buffer.from('top\n'),
        'with space.txt': Buffer.from('a space'),
        'a+b=c.txt': Buffer.from('plus'),
        'ünïcödé 日本語 😀.txt': Buffer.from('unicode'),
        'nested/empty.txt': Buffer.alloc(0),
        'nested/deep/er/leaf.bin': pseudoRandom(300_000, 41), // over the 64 KiB inline limit: chunk-stored
        'nested/deep/sp ace+plus/ü.txt': Buffer.from('deep odd'),
      };
      const src = path.join(work, 'tree-up');
      for (const [rel, data] of Object.entries(tree)) {
        await mkdir(path.dirname(path.join(src, rel)), { recursive: true });
        await writeFile(path.join(src, rel), data);
      }
      const prefix = `s3://${bucket}/tree/`;
      const up = await aws.ok(['s3', 'cp', '--recursive', src, prefix]);
      expect(outputLines(up).filter((l) => l.startsWith('upload: '))).toHaveLength(Object.keys(tree).length);

      const listed = lsKeys(await aws.ok(['s3', 'ls', '--recursive', prefix]));
      const expected = Object.keys(tree).sort(byteOrder).map((rel) => ({ key: `tree/${rel}`, size: tree[rel].length }));
      expect(listed).toEqual(expected); // exactly these keys, in UTF-8 byte order, with their sizes

      const dst = path.join(work, 'tree-down');
      await aws.ok(['s3', 'cp', '--recursive', prefix, dst]);
      await expectSameTree(dst, src);

      const removed = await aws.ok(['s3', 'rm', '--recursive', prefix]);
      expect(outputLines(removed).filter((l) => l.startsWith('delete: '))).toHaveLength(Object.keys(tree).length);
      const after = await aws.api(['list-objects-v2', '--bucket', bucket, '--prefix', 'tree/']);
      expect(after.Contents ?? []).toEqual([]);
    }, 120_000);

    describe('presign', () => {
      const key = 'presign/obj one+ü.bin';
      const data = pseudoRandom(100_000, 51);
      beforeAll(async () => {
        await writeFile(path.join(work, 'presign.bin'), data);
        await aws.ok(['s3', 'cp', path.join(work, 'presign.bin'), `s3://${bucket}/${key}`]);
      });

      test('S3_presign_sigv4: a URL from `aws s3 presign --expires-in 60` fetched with plain fetch returns the bytes', async () => {
        // aws-cli 1.x presigns with SigV2 in us-east-1 unless told otherwise (see
        // S3_presign_default); `s3.signature_version = s3v4` is the setting AWS's docs give cli
        // users for SigV4, and what 2.x does by default.
        const v4 = await AwsCli.create(server.url, ['signature_version = s3v4']);
        try {
          const url = (await v4.ok(['s3', 'presign', `s3://${bucket}/${key}`, '--expires-in', '60'])).trim();
          expect(url.startsWith(`${server.url}/${bucket}/`)).toBe(true);
          expect(url).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
          expect(url).toContain('X-Amz-Expires=60');
          const res = await fetch(url);
          const got = Buffer.from(await res.arrayBuffer());
          expect({ status: res.status, sha256: sha256(got) }).toEqual({ status: 200, sha256: sha256(data) });
        } finally {
          await v4.close();
        }
      });

      test('S3_presign_default: the URL each cli writes by default (2.x SigV4, 1.x SigV2) returns the bytes', async () => {
        const url = (await aws.ok(['s3', 'presign', `s3://${bucket}/${key}`, '--expires-in', '60'])).trim();
        if (version!.startsWith('aws-cli/2.')) expect(url).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
        else expect(url).toMatch(/[?&]AWSAccessKeyId=.*&Signature=.*&Expires=\d+/); // SigV2 query auth
        const res = await fetch(url);
        const got = Buffer.from(await res.arrayBuffer());
        expect({ status: res.status, sha256: sha256(got) }).toEqual({ status: 200, sha256: sha256(data) });
        // Tampered: another key under the same signature.
        const tampered = await fetch(url.replace(`/${bucket}/`, `/${bucket}/x`));
        expect(tampered.status).toBe(403);
      });
    });
  });

  describe('aws s3api', () => {
    const bucket = 'cli-api';
    const data = pseudoRandom(200_000, 61);

    test('CreateBucket_HeadBucket: create-bucket answers Location; head-bucket succeeds with the region', async () => {
      expect(await aws.api(['create-bucket', '--bucket', bucket])).toMatchObject({ Location: `/${bucket}` });
      const head = await aws.api(['head-bucket', '--bucket', bucket]);
      if ('BucketRegion' in head) expect(head.BucketRegion).toBe('us-east-1'); // newer botocore prints x-amz-bucket-region
    });

    test('PutObject_HeadObject_GetObject: metadata and content type set by put-object come back; bytes exact', async () => {
      const file = path.join(work, 'api-put.bin');
      await writeFile(file, data);
      const put = await aws.api([
        'put-object', '--bucket', bucket, '--key', 'docs/report v1.bin', '--body', file,
        '--content-type', 'application/x-rfs-test', '--metadata', JSON.stringify({ color: 'blue', 'multi-word': 'a b c' }),
      ]);
      expect(put.ETag).toBe(`"${md5(data)}"`);

      const head = await aws.api(['head-object', '--bucket', bucket, '--key', 'docs/report v1.bin']);
      expect(head).toMatchObject({
        ContentLength: data.length,
        ETag: `"${md5(data)}"`,
        ContentType: 'application/x-rfs-test',
        Metadata: { color: 'blue', 'multi-word': 'a b c' },
      });
      expect(Math.abs(Date.parse(head.LastModified) - Date.now())).toBeLessThan(60_000);

      const out = path.join(work, 'api-get.bin');
      const get = await aws.api(['get-object', '--bucket', bucket, '--key', 'docs/report v1.bin', out]);
      expect(get).toMatchObject({ ContentLength: data.length, ETag: `"${md5(data)}"`, ContentType: 'application/x-rfs-test', Metadata: { color: 'blue', 'multi-word': 'a b c' } });
      expect(sha256(await readFile(out))).toBe(sha256(data));
      expect((await stat(out)).size).toBe(data.length);
    });

    describe('listing', () => {
      const keys = ['list/a.txt', 'list/b/1', 'list/b/2', 'list/c/d/3', 'list/d e/f', 'list/z'];
      beforeAll(async () => {
        // Seeded through the SDK: the cli under test here is the listing, not the upload.
        await Promise.all(keys.map((k) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }))));
      });

      test('ListObjectsV2_delimiter_prefix: Contents and CommonPrefixes', async () => {
        const top = await aws.api(['list-objects-v2', '--bucket', bucket, '--prefix', 'list/', '--delimiter', '/']);
        expect(top.Contents.map((c: { Key: string }) => c.Key)).toEqual(['list/a.txt', 'list/z']);
        expect(top.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix)).toEqual(['list/b/', 'list/c/', 'list/d e/']);
        const sub = await aws.api(['list-objects-v2', '--bucket', bucket, '--prefix', 'list/b/', '--delimiter', '/']);
        expect(sub.Contents.map((c: { Key: string; Size: number }) => [c.Key, c.Size])).toEqual([['list/b/1', 8], ['list/b/2', 8]]);
        expect(sub.CommonPrefixes ?? []).toEqual([]);
      });

      test('ListObjectsV2_paginated: --page-size 2 follows continuation tokens to every key once', async () => {
        const all = await aws.api(['list-objects-v2', '--bucket', bucket, '--prefix', 'list/', '--page-size', '2']);
        expect(all.Contents.map((c: { Key: string }) => c.Key)).toEqual(keys);
      });

      test('ListObjects_v1: delimiter listing, and --page-size 2 pages through markers', async () => {
        const top = await aws.api(['list-objects', '--bucket', bucket, '--prefix', 'list/', '--delimiter', '/']);
        expect(top.Contents.map((c: { Key: string }) => c.Key)).toEqual(['list/a.txt', 'list/z']);
        expect(top.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix)).toEqual(['list/b/', 'list/c/', 'list/d e/']);
        const all = await aws.api(['list-objects', '--bucket', bucket, '--prefix', 'list/', '--page-size', '2']);
        expect(all.Contents.map((c: { Key: string }) => c.Key)).toEqual(keys);
      });
    });

    test('GetBucketLocation: us-east-1 is reported as a null LocationConstraint', async () => {
      expect(await aws.api(['get-bucket-location', '--bucket', bucket])).toEqual({ LocationConstraint: null });
    });

    test('DeleteObject_DeleteBucket: the object is gone, then the emptied bucket is deleted', async () => {
      await aws.api(['delete-object', '--bucket', bucket, '--key', 'docs/report v1.bin']);
      expect(failed(await aws.run(['s3api', 'head-object', '--bucket', bucket, '--key', 'docs/report v1.bin']))).toMatch(/\(404\)|Not Found/);
      await aws.ok(['s3', 'rm', '--recursive', `s3://${bucket}/list/`]);
      await aws.api(['delete-bucket', '--bucket', bucket]);
      expect(failed(await aws.run(['s3api', 'head-bucket', '--bucket', bucket]))).toMatch(/\(404\)|Not Found/);
    });
  });

  describe('errors through the cli', () => {
    const bucket = 'cli-errors';
    beforeAll(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'present', Body: 'x' }));
    });

    test('GetObject_missing: a service-error exit and NoSuchKey', async () => {
      const stderr = failed(await aws.run(['s3api', 'get-object', '--bucket', bucket, '--key', 'absent', path.join(work, 'absent.out')]));
      expect(stderr).toMatch(/An error occurred \(NoSuchKey\) when calling the GetObject operation/);
    });

    test('HeadObject_missing: a service-error exit and 404 (a HEAD answer has no body to carry a code)', async () => {
      const stderr = failed(await aws.run(['s3api', 'head-object', '--bucket', bucket, '--key', 'absent']));
      expect(stderr).toMatch(/An error occurred \(404\) when calling the HeadObject operation: Not Found/);
    });

    test('DeleteBucket_notEmpty: a service-error exit and BucketNotEmpty', async () => {
      const stderr = failed(await aws.run(['s3api', 'delete-bucket', '--bucket', bucket]));
      expect(stderr).toMatch(/An error occurred \(BucketNotEmpty\) when calling the DeleteBucket operation/);
    });

    test('CreateBucket_invalidName: bad..name passes the cli and the server answers InvalidBucketName', async () => {
      // "when calling the CreateBucket operation" means the error came back from the server,
      // not from the cli's own parameter validation.
      const stderr = failed(await aws.run(['s3api', 'create-bucket', '--bucket', 'bad..name']));
      expect(stderr).toMatch(/An error occurred \(InvalidBucketName\) when calling the CreateBucket operation/);
    });

    test('Auth_wrongSecret: SignatureDoesNotMatch; unknown key: InvalidAccessKeyId', async () => {
      const wrongSecret = await aws.run(['s3api', 'list-objects-v2', '--bucket', bucket], { env: { AWS_SECRET_ACCESS_KEY: 'not-the-right-secret-0000000000000000000' } });
      expect(failed(wrongSecret)).toMatch(/An error occurred \(SignatureDoesNotMatch\) when calling the ListObjectsV2 operation/);
      const wrongKey = await aws.run(['s3api', 'list-objects-v2', '--bucket', bucket], { env: { AWS_ACCESS_KEY_ID: 'RFSNOSUCHKEY00000000' } });
      expect(failed(wrongKey)).toMatch(/An error occurred \(InvalidAccessKeyId\) when calling the ListObjectsV2 operation/);
    });
  });

  describe('aws s3: the realistic tree', () => {
    const bucket = 'cli-tree';
    const url = `s3://${bucket}`;
    const files = realisticTree(); // the cli carries every odd name: it percent-encodes keys itself
    const small = realisticTree({ large: false });
    const dir = (name: string) => path.join(work, 'tree', name);
    const uploads = (out: string) => outputLines(out).filter((l) => l.startsWith('upload: '));
    const downloads = (out: string) => outputLines(out).filter((l) => l.startsWith('download: '));
    const deletes = (out: string) => outputLines(out).filter((l) => l.startsWith('delete: '));

    beforeAll(async () => {
      await writeTree(dir('src'), files);
      await writeTree(dir('sync-src'), small);
      await aws.ok(['s3', 'mb', url]);
    });

    test('S3_cp_recursive_up: every file goes up, above 5 MiB in 5 MiB parts (multipart ETags)', async () => {
      expect(uploads(await aws.ok(['s3', 'cp', '--recursive', dir('src'), `${url}/tree/`]))).toHaveLength(files.length);
      expect(lsKeys(await aws.ok(['s3', 'ls', '--recursive', `${url}/tree/`]))).toEqual(treeKeys(files, 'tree/'));
      const listed = await aws.api(['list-objects-v2', '--bucket', bucket, '--prefix', 'tree/']);
      const expected = await Promise.all(
        treeKeys(files, 'tree/').map(async ({ key }) => ({ Key: key, ETag: await multipartETag(path.join(dir('src'), key.slice(5)), 5 * MiB) })),
      );
      expect(listed.Contents.map((c: { Key: string; ETag: string }) => ({ Key: c.Key, ETag: c.ETag }))).toEqual(expected);
      expect(expected.find((o) => o.Key === 'tree/sizes/100MiB.bin')!.ETag).toMatch(/-20"$/);
    }, 300_000);

    test('S3_cp_recursive_down: the tree comes down byte-exact (ranged GETs above 5 MiB)', async () => {
      expect(downloads(await aws.ok(['s3', 'cp', '--recursive', `${url}/tree/`, dir('down')]))).toHaveLength(files.length);
      await expectSameTree(dir('down'), dir('src'));
    }, 300_000);

    test('S3_sync_up: first sync sends everything, the second nothing, a changed file alone is re-sent', async () => {
      expect(uploads(await aws.ok(['s3', 'sync', dir('sync-src'), `${url}/sync/`]))).toHaveLength(small.length);
      expect(await listAllKeys(s3, bucket, 'sync/')).toEqual(treeKeys(small, 'sync/'));
      expect(outputLines(await aws.ok(['s3', 'sync', dir('sync-src'), `${url}/sync/`]))).toEqual([]);

      // Same size, new bytes, newer mtime: what an edited file looks like to sync, which
      // compares size and modification time (local newer than LastModified), not content.
      // LastModified has whole seconds: edit in a later second, and give the file a whole
      // second as mtime, so the re-sent object is not older than it (no resend ever after).
      const uploaded = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sync/sizes/5MiB-plus-1.bin' }))).LastModified!;
      await new Promise((r) => setTimeout(r, Math.max(0, uploaded.getTime() + 1000 - Date.now())));
      await writeTree(dir('sync-src'), [{ path: 'sizes/5MiB-plus-1.bin', size: 5 * MiB + 1, seed: 4242 }]);
      const second = Math.floor(Date.now() / 1000);
      await utimes(path.join(dir('sync-src'), 'sizes', '5MiB-plus-1.bin'), second, second);
      const third = uploads(await aws.ok(['s3', 'sync', dir('sync-src'), `${url}/sync/`]));
      expect(third).toEqual([expect.stringContaining(`to ${url}/sync/sizes/5MiB-plus-1.bin`)]);
    }, 120_000);

    test('S3_sync_down: the prefix comes down byte-exact; a second sync fetches nothing', async () => {
      expect(downloads(await aws.ok(['s3', 'sync', `${url}/sync/`, dir('sync-down')]))).toHaveLength(small.length);
      await expectSameTree(dir('sync-down'), dir('sync-src'));
      expect(outputLines(await aws.ok(['s3', 'sync', `${url}/sync/`, dir('sync-down')]))).toEqual([]);
    }, 120_000);

    test('S3_sync_delete: a file removed locally is deleted by sync --delete, and only it', async () => {
      await rm(path.join(dir('sync-src'), 'odd names', 'a+b.txt'));
      const out = await aws.ok(['s3', 'sync', '--delete', dir('sync-src'), `${url}/sync/`]);
      expect(deletes(out)).toEqual([`delete: ${url}/sync/odd names/a+b.txt`]);
      expect(uploads(out)).toEqual([]);
      expect(await listAllKeys(s3, bucket, 'sync/')).toEqual(treeKeys(small.filter((f) => f.path !== 'odd names/a+b.txt'), 'sync/'));
    }, 120_000);

    test('S3_mv: local → bucket, bucket → bucket (multipart copy above 5 MiB), bucket → local', async () => {
      const file = path.join(work, 'tree', 'mv.bin');
      await writeTree(path.join(work, 'tree'), [{ path: 'mv.bin', size: 5 * MiB + 1, seed: 77 }]);
      const digest = sha256(await readFile(file));
      await aws.ok(['s3', 'mv', file, `${url}/mv/a b.bin`]);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      await aws.ok(['s3', 'mv', `${url}/mv/a b.bin`, `${url}/mv/c+d ü.bin`]);
      expect(await listAllKeys(s3, bucket, 'mv/')).toEqual([{ key: 'mv/c+d ü.bin', size: 5 * MiB + 1 }]);
      await aws.ok(['s3', 'mv', `${url}/mv/c+d ü.bin`, file]);
      expect(await listAllKeys(s3, bucket, 'mv/')).toEqual([]);
      expect(sha256(await readFile(file))).toBe(digest);
    }, 120_000);

    test('S3_rm_rb: rm --recursive deletes every key, the bucket is empty, rb removes it', async () => {
      const before = await listAllKeys(s3, bucket);
      expect(deletes(await aws.ok(['s3', 'rm', '--recursive', `${url}/`]))).toHaveLength(before.length);
      await expectBucketEmpty(s3, bucket);
      expect(await aws.ok(['s3', 'rb', url])).toContain(`remove_bucket: ${bucket}`);
      expect(failed(await aws.run(['s3api', 'head-bucket', '--bucket', bucket]))).toMatch(/\(404\)|Not Found/);
    }, 120_000);
  });

  describe('aws s3api: multipart upload', () => {
    const bucket = 'cli-multipart';
    const key = 'mp/odd key+ü&=.bin';
    const part1 = pseudoRandom(5 * MiB, 71);
    const part2 = pseudoRandom(1234, 72);
    const file = (name: string) => path.join(work, `mp-${name}`);
    /** ETag of a part, and the object's: md5 of the parts' binary MD5s, "-<count>". */
    const partsETag = (...parts: Buffer[]) =>
      `"${createHash('md5').update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()))).digest('hex')}-${parts.length}"`;

    beforeAll(async () => {
      await aws.api(['create-bucket', '--bucket', bucket]);
      await writeFile(file('1'), part1);
      await writeFile(file('2'), part2);
      await writeFile(file('tiny'), Buffer.from('tiny part'));
    });

    const create = async (k = key) =>
      (await aws.api(['create-multipart-upload', '--bucket', bucket, '--key', k, '--metadata', '{"purpose":"multipart test"}'])).UploadId as string;
    const uploadPart = async (k: string, uploadId: string, n: number, body: string) =>
      (await aws.api(['upload-part', '--bucket', bucket, '--key', k, '--upload-id', uploadId, '--part-number', String(n), '--body', body])).ETag as string;

    test('MultipartUpload_complete: create, two parts, list-parts, list-multipart-uploads, complete; bytes and metadata exact', async () => {
      const uploadId = await create();
      expect(uploadId).toEqual(expect.any(String));
      const etags = [await uploadPart(key, uploadId, 1, file('1')), await uploadPart(key, uploadId, 2, file('2'))];
      expect(etags).toEqual([`"${md5(part1)}"`, `"${md5(part2)}"`]);

      const parts = await aws.api(['list-parts', '--bucket', bucket, '--key', key, '--upload-id', uploadId]);
      expect(parts.Parts.map((p: Record<string, unknown>) => [p.PartNumber, p.Size, p.ETag])).toEqual([
        [1, part1.length, etags[0]],
        [2, part2.length, etags[1]],
      ]);
      const uploads = await aws.api(['list-multipart-uploads', '--bucket', bucket]);
      expect(uploads.Uploads.map((u: Record<string, unknown>) => [u.Key, u.UploadId])).toEqual([[key, uploadId]]);

      const done = await aws.api([
        'complete-multipart-upload', '--bucket', bucket, '--key', key, '--upload-id', uploadId,
        '--multipart-upload', JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }),
      ]);
      expect(done).toMatchObject({ Bucket: bucket, Key: key, ETag: partsETag(part1, part2) });

      const out = file('got');
      const got = await aws.api(['get-object', '--bucket', bucket, '--key', key, out]);
      expect(got).toMatchObject({ ContentLength: part1.length + part2.length, ETag: partsETag(part1, part2), Metadata: { purpose: 'multipart test' } });
      expect(sha256(await readFile(out))).toBe(sha256(Buffer.concat([part1, part2])));
      expect((await aws.api(['list-multipart-uploads', '--bucket', bucket])).Uploads ?? []).toEqual([]);
    }, 120_000);

    test('MultipartUpload_abort: after abort the upload is gone (NoSuchUpload) and nothing was stored', async () => {
      const k = 'mp/aborted.bin';
      const uploadId = await create(k);
      await uploadPart(k, uploadId, 1, file('1'));
      await aws.api(['abort-multipart-upload', '--bucket', bucket, '--key', k, '--upload-id', uploadId]);
      const stderr = failed(await aws.run(['s3api', 'list-parts', '--bucket', bucket, '--key', k, '--upload-id', uploadId]));
      expect(stderr).toMatch(/An error occurred \(NoSuchUpload\) when calling the ListParts operation/);
      expect((await aws.api(['list-multipart-uploads', '--bucket', bucket])).Uploads ?? []).toEqual([]);
      expect(await listAllKeys(s3, bucket, k)).toEqual([]);
    }, 60_000);

    test('MultipartUpload_tooSmall: a part under 5 MiB that is not the last → EntityTooSmall; abort cleans up', async () => {
      const k = 'mp/too-small.bin';
      const uploadId = await create(k);
      const etags = [await uploadPart(k, uploadId, 1, file('tiny')), await uploadPart(k, uploadId, 2, file('tiny'))];
      const r = await aws.run([
        's3api', 'complete-multipart-upload', '--bucket', bucket, '--key', k, '--upload-id', uploadId,
        '--multipart-upload', JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }),
      ]);
      expect(failed(r)).toMatch(/An error occurred \(EntityTooSmall\) when calling the CompleteMultipartUpload operation/);
      await aws.api(['abort-multipart-upload', '--bucket', bucket, '--key', k, '--upload-id', uploadId]);
      expect(await listAllKeys(s3, bucket, k)).toEqual([]);
    }, 60_000);

    test('GetObjectAttributes: ETag (bare), size, storage class and part count of the multipart object', async () => {
      const attrs = await aws.api(['get-object-attributes', '--bucket', bucket, '--key', key, '--object-attributes', 'ETag', 'ObjectSize', 'StorageClass', 'ObjectParts']);
      expect(attrs).toMatchObject({
        ETag: partsETag(part1, part2).slice(1, -1), // S3 writes this document's ETag without quotes
        ObjectSize: part1.length + part2.length,
        StorageClass: 'STANDARD',
        ObjectParts: expect.objectContaining({ TotalPartsCount: 2 }),
      });
      expect(Math.abs(Date.parse(attrs.LastModified) - Date.now())).toBeLessThan(120_000);
    }, 120_000);
  });

  describe('aws s3api: copy, delete-objects, tagging', () => {
    const bucket = 'cli-objects';
    const src = 'src dir/ori+ginal ü&.txt';
    const data = pseudoRandom(70_000, 81);

    beforeAll(async () => {
      await aws.api(['create-bucket', '--bucket', bucket]);
      await writeFile(path.join(work, 'copy-src.bin'), data);
      await aws.api(['put-object', '--bucket', bucket, '--key', src, '--body', path.join(work, 'copy-src.bin'), '--content-type', 'text/x-src', '--metadata', '{"k":"v"}']);
    });

    test('CopyObject: metadata copied by default, replaced with REPLACE; the source key may hold odd characters', async () => {
      const copied = await aws.api(['copy-object', '--bucket', bucket, '--key', 'copies/same', '--copy-source', `${bucket}/${src}`]);
      expect(copied.CopyObjectResult.ETag).toBe(`"${md5(data)}"`);
      expect(await aws.api(['head-object', '--bucket', bucket, '--key', 'copies/same'])).toMatchObject({
        ContentLength: data.length, ContentType: 'text/x-src', Metadata: { k: 'v' }, ETag: `"${md5(data)}"`,
      });
      await aws.api([
        'copy-object', '--bucket', bucket, '--key', 'copies/replaced', '--copy-source', `${bucket}/${src}`,
        '--metadata-directive', 'REPLACE', '--content-type', 'text/plain', '--metadata', '{"other":"w"}',
      ]);
      const head = await aws.api(['head-object', '--bucket', bucket, '--key', 'copies/replaced']);
      expect({ type: head.ContentType, meta: head.Metadata }).toEqual({ type: 'text/plain', meta: { other: 'w' } });
      const stderr = failed(await aws.run(['s3api', 'copy-object', '--bucket', bucket, '--key', 'copies/x', '--copy-source', `${bucket}/absent`]));
      expect(stderr).toMatch(/An error occurred \(NoSuchKey\) when calling the CopyObject operation/);
    }, 120_000);

    test('PutObjectTagging_GetObjectTagging: a tag set replaces the one from put-object --tagging', async () => {
      await aws.api(['put-object', '--bucket', bucket, '--key', 'tagged', '--body', path.join(work, 'copy-src.bin'), '--tagging', 'team=storage&stage=test%20run']);
      const first = await aws.api(['get-object-tagging', '--bucket', bucket, '--key', 'tagged']);
      expect(sortTags(first.TagSet)).toEqual([{ Key: 'stage', Value: 'test run' }, { Key: 'team', Value: 'storage' }]);
      expect((await aws.api(['head-object', '--bucket', bucket, '--key', 'tagged'])).TagCount).toBe(2);

      const tagSet = [{ Key: 'project', Value: 'rfs' }, { Key: 'odd key +=', Value: 'ü value' }];
      await aws.api(['put-object-tagging', '--bucket', bucket, '--key', 'tagged', '--tagging', JSON.stringify({ TagSet: tagSet })]);
      expect(sortTags((await aws.api(['get-object-tagging', '--bucket', bucket, '--key', 'tagged'])).TagSet)).toEqual(sortTags(tagSet));

      const stderr = failed(await aws.run(['s3api', 'get-object-tagging', '--bucket', bucket, '--key', 'absent']));
      expect(stderr).toMatch(/An error occurred \(NoSuchKey\) when calling the GetObjectTagging operation/);
    }, 120_000);

    test('DeleteObjects: existing and never-existing keys are all reported deleted; the bucket is left empty', async () => {
      const keys = [src, 'copies/same', 'copies/replaced', 'tagged', 'never/existed'];
      const r = await aws.api(['delete-objects', '--bucket', bucket, '--delete', JSON.stringify({ Objects: keys.map((Key) => ({ Key })), Quiet: false })]);
      expect((r.Deleted as { Key: string }[]).map((d) => d.Key).sort()).toEqual([...keys].sort());
      expect(r.Errors ?? []).toEqual([]);
      await expectBucketEmpty(s3, bucket);
    }, 120_000);
  });

  describe('aws s3api: versioning', () => {
    const bucket = 'cli-versions';
    const key = 'doc.txt';

    test('PutBucketVersioning_ListObjectVersions: versions, a delete marker, and permanent deletes leave nothing', async () => {
      await aws.api(['create-bucket', '--bucket', bucket]);
      expect(await aws.api(['get-bucket-versioning', '--bucket', bucket])).toEqual({}); // never versioned: no Status
      await aws.api(['put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled']);
      expect(await aws.api(['get-bucket-versioning', '--bucket', bucket])).toEqual({ Status: 'Enabled' });

      await writeFile(path.join(work, 'v1'), 'first');
      await writeFile(path.join(work, 'v2'), 'second!');
      const v1 = (await aws.api(['put-object', '--bucket', bucket, '--key', key, '--body', path.join(work, 'v1')])).VersionId;
      const v2 = (await aws.api(['put-object', '--bucket', bucket, '--key', key, '--body', path.join(work, 'v2')])).VersionId;
      expect(new Set([v1, v2, 'null', undefined]).size).toBe(4);

      const old = path.join(work, 'v-old');
      expect(await aws.api(['get-object', '--bucket', bucket, '--key', key, '--version-id', v1, old])).toMatchObject({ VersionId: v1, ContentLength: 5 });
      expect(await readFile(old, 'utf8')).toBe('first');

      const marker = await aws.api(['delete-object', '--bucket', bucket, '--key', key]);
      expect(marker).toEqual({ DeleteMarker: true, VersionId: expect.any(String) });
      const listed = await aws.api(['list-object-versions', '--bucket', bucket]);
      expect(listed.Versions.map((v: Record<string, unknown>) => [v.Key, v.VersionId, v.IsLatest, v.Size])).toEqual([
        [key, v2, false, 7],
        [key, v1, false, 5],
      ]);
      expect(listed.DeleteMarkers.map((m: Record<string, unknown>) => [m.Key, m.VersionId, m.IsLatest])).toEqual([[key, marker.VersionId, true]]);
      expect(failed(await aws.run(['s3api', 'head-object', '--bucket', bucket, '--key', key]))).toMatch(/\(404\)|Not Found/);

      for (const id of [marker.VersionId, v2, v1]) await aws.api(['delete-object', '--bucket', bucket, '--key', key, '--version-id', id]);
      const after = await aws.api(['list-object-versions', '--bucket', bucket]);
      expect({ versions: after.Versions ?? [], markers: after.DeleteMarkers ?? [] }).toEqual({ versions: [], markers: [] });
      await aws.api(['delete-bucket', '--bucket', bucket]);
    }, 120_000);
  });

  describe('aws s3api: cors', () => {
    const bucket = 'cli-cors';
    const rules = {
      CORSRules: [
        { AllowedOrigins: ['https://app.example.com'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 },
      ],
    };

    test('PutBucketCors_GetBucketCors: the rules round-trip, a preflight is answered by them, delete removes them', async () => {
      await aws.api(['create-bucket', '--bucket', bucket]);
      expect(failed(await aws.run(['s3api', 'get-bucket-cors', '--bucket', bucket]))).toMatch(/An error occurred \(NoSuchCORSConfiguration\) when calling the GetBucketCors operation/);
      await aws.api(['put-bucket-cors', '--bucket', bucket, '--cors-configuration', JSON.stringify(rules)]);
      expect(await aws.api(['get-bucket-cors', '--bucket', bucket])).toEqual(rules);

      // What a browser sends before a cross-origin PUT.
      const preflight = await fetch(`${server.url}/${bucket}/some/key`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
      });
      expect({
        status: preflight.status,
        origin: preflight.headers.get('access-control-allow-origin'),
        methods: preflight.headers.get('access-control-allow-methods'),
        maxAge: preflight.headers.get('access-control-max-age'),
      }).toEqual({ status: 200, origin: 'https://app.example.com', methods: 'GET, PUT', maxAge: '600' });
      const denied = await fetch(`${server.url}/${bucket}/some/key`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://evil.example.net', 'Access-Control-Request-Method': 'PUT' },
      });
      expect(denied.status).toBe(403);

      await aws.api(['delete-bucket-cors', '--bucket', bucket]);
      expect(failed(await aws.run(['s3api', 'get-bucket-cors', '--bucket', bucket]))).toMatch(/NoSuchCORSConfiguration/);
      await aws.api(['delete-bucket', '--bucket', bucket]);
    }, 120_000);
  });
});
