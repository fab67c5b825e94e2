import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pseudoRandom, s3Client, startTestServer, type TestServer } from '../harness';
import { AwsCli, awsVersion, type CliResult } from './cli';

/**
 * The aws cli (1.x or 2.x, whichever `aws` is on PATH) against a real rfs listener: the
 * high-level `aws s3` commands, `aws s3api`, errors as the cli reports them, and presigned
 * URLs. Every call goes through execFile with --endpoint-url and credentials from the
 * environment only (see cli.ts). Without the cli the suite is skipped, loudly, except under
 * CI=true, where a missing cli is a failure.
 */
const version = awsVersion();
const ci = process.env.CI === 'true';
if (!version) {
  console.warn(
    ci
      ? 'awscli suite: `aws` is not installed or does not run, and CI=true: failing (install awscli, e.g. apt-get install awscli)'
      : 'awscli suite SKIPPED: `aws` is not installed or does not run (`aws --version` failed); install awscli to run it',
  );
}

(version || ci ? describe : describe.skip)('aws cli presence', () => {
  test('Aws_version: the aws cli runs (a missing cli fails under CI=true)', () => {
    if (!version) throw new Error('`aws --version` failed: the awscli suite needs the aws cli under CI=true (apt-get install awscli)');
    expect(version).toMatch(/^aws-cli\/[12]\.\d+/);
  });
});

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

/** The non-empty lines of `aws s3` transfer output (progress lines end in \r, results in \n). */
const outputLines = (stdout: string) => stdout.split(/[\r\n]+/).filter((l) => l.trim() !== '');

/** The exit code for "the service returned an error": 255 in aws-cli 1.x, 254 in 2.x. */
const SERVICE_ERROR = version?.startsWith('aws-cli/2.') ? 254 : 255;

/** The stderr of a command the service failed, after checking its exit code. */
function failed(r: CliResult): string {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: SERVICE_ERROR });
  return r.stderr;
}

(version ? describe : describe.skip)(`aws cli (${version ?? 'not installed'})`, () => {
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

      test('S3_presign_default: 2.x (SigV4) URL returns the bytes; 1.x SigV2 URL is refused as S3 refuses it for new buckets', async () => {
        const url = (await aws.ok(['s3', 'presign', `s3://${bucket}/${key}`, '--expires-in', '60'])).trim();
        const res = await fetch(url);
        const got = Buffer.from(await res.arrayBuffer());
        if (version!.startsWith('aws-cli/2.')) expect(url).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
        if (url.includes('X-Amz-Algorithm=AWS4-HMAC-SHA256')) {
          expect({ status: res.status, sha256: sha256(got) }).toEqual({ status: 200, sha256: sha256(data) });
        } else {
          // SigV2 query auth (AWSAccessKeyId/Signature/Expires): rfs speaks SigV4 only, and
          // answers as S3 does for buckets created since June 2020.
          expect(url).toMatch(/[?&]AWSAccessKeyId=.*&Signature=.*&Expires=\d+/);
          expect({ status: res.status, code: /<Code>([^<]+)<\/Code>/.exec(got.toString())?.[1] }).toEqual({ status: 400, code: 'InvalidRequest' });
          expect(got.toString()).toContain('Please use AWS4-HMAC-SHA256');
        }
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
});
