import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Client, startTestServer, type TestServer } from '../harness';
import {
  MiB,
  clientGate,
  expectBucketEmpty,
  expectSameTree,
  multipartETag,
  probePythonModule,
  realisticTree,
  tempDir,
  treeKeys,
  writeTree,
} from '../clients';
import { runScript } from './scripts';

/**
 * boto3 (Debian's python3-boto3, through /usr/bin/python3 when that is the interpreter that
 * has it) against a real rfs listener. Each test runs one of the python scripts beside this
 * file; the script prints one JSON document of what it observed and the test asserts it.
 * The AWS SDK v3 client here only checks state from the outside (nothing left behind).
 */
const python = probePythonModule('boto3');
const describeBoto3 = clientGate('boto3', python, 'apt-get install python3-boto3');

const script = (name: string, args: string[], endpoint: string) => runScript(python.bin!, name, args, endpoint);

describeBoto3(`boto3 (${python.version ?? 'not installed'})`, () => {
  let server: TestServer;
  let s3: S3Client;
  let work: string;
  const py = (name: string, ...args: string[]) => script(name, args, server.url);

  beforeAll(async () => {
    server = await startTestServer();
    s3 = s3Client(server.url);
    work = await tempDir('boto3');
  });
  afterAll(async () => {
    s3?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
    await server?.close();
  });

  describe('transfer manager: the realistic tree', () => {
    const bucket = 'boto3-tree';
    const files = realisticTree(); // boto3 carries every odd name: keys are just strings to it
    const prefix = 'tree/';

    beforeAll(async () => {
      await writeTree(path.join(work, 'src'), files);
      await py('tree', 'create-bucket', bucket);
    });

    test('UploadFile_tree: every file goes up; above 5 MiB as 5 MiB parts (multipart ETags)', async () => {
      const up = await py('tree', 'upload', path.join(work, 'src'), bucket, prefix);
      expect([...up.uploaded].sort()).toEqual(treeKeys(files, prefix).map((k) => k.key).sort());

      const listed = await py('tree', 'list', bucket, prefix);
      const expected = await Promise.all(
        treeKeys(files, prefix).map(async ({ key, size }) => ({
          key,
          size,
          etag: await multipartETag(path.join(work, 'src', key.slice(prefix.length)), 5 * MiB),
        })),
      );
      expect(listed.objects).toEqual(expected); // UTF-8 byte order, sizes, and "-2"/"-20" ETags
      expect(expected.find((o) => o.key.endsWith('100MiB.bin'))!.etag).toMatch(/-20"$/);
    }, 300_000);

    test('DownloadFile_tree: ranged parallel downloads come back byte-exact', async () => {
      const down = await py('tree', 'download', bucket, prefix, path.join(work, 'dst'));
      expect(down.downloaded).toHaveLength(files.length);
      await expectSameTree(path.join(work, 'dst'), path.join(work, 'src'));
    }, 300_000);

    test('DeleteObjects_tree: deleted in one DeleteObjects call; the bucket is empty and goes', async () => {
      expect(await py('tree', 'delete', bucket, prefix)).toEqual({ deleted: files.length, errors: [], left: 0 });
      await expectBucketEmpty(s3, bucket);
      await py('tree', 'delete-bucket', bucket);
    }, 120_000);
  });

  describe('paginators', () => {
    const bucket = 'boto3-pages';
    beforeAll(() => py('tree', 'create-bucket', bucket));

    test('ListObjectsV2_paginator: 1,100 keys page at 1,000 by default, at PageSize, resume from NextToken; quiet DeleteObjects', async () => {
      const r = await py('listing', bucket, 'many/', '1100');
      expect(r).toEqual({
        v2Default: { pageSizes: [1000, 100], inOrderAndComplete: true },
        v2PageSize250: { pageSizes: [250, 250, 250, 250, 100], inOrderAndComplete: true },
        v1PageSize400: { pageSizes: [400, 400, 300], inOrderAndComplete: true },
        capped: { count: 300, hasNextToken: true },
        resumedCompletesIt: true,
        delimiter: { contents: 0, commonPrefixes: Array.from({ length: 10 }, (_, i) => `many/d${i}/`) },
        quietDelete: { reportedDeleted: 0, errors: [] },
        left: 0,
      });
      await expectBucketEmpty(s3, bucket);
    }, 180_000);
  });

  describe('encoding-type=url', () => {
    const bucket = 'boto3-prefixes';
    beforeAll(() => py('tree', 'create-bucket', bucket));

    test('ListObjects_encodedPrefixes: boto3 decodes once and sees keys and prefixes as written (/ is not encoded, + and space are)', async () => {
      expect(await py('prefixes', bucket)).toEqual({
        prefixes: ['foo+1/', 'plain/', 'quux ab/'],
        keys: ['top+ab c'],
        v1Keys: ['foo+1/a', 'plain/c', 'quux ab/b', 'top+ab c'],
      });
      await py('tree', 'delete-bucket', bucket);
    }, 60_000);
  });

  describe('presigned', () => {
    const bucket = 'boto3-presign';
    beforeAll(() => py('tree', 'create-bucket', bucket));

    test('GeneratePresignedUrl: PUT and GET through urllib; tampered → SignatureDoesNotMatch, expired → AccessDenied', async () => {
      const r = await py('presign', bucket, 'urls');
      expect(r.put).toBe(200);
      expect(r.get).toEqual({ status: 200, same: true, disposition: 'attachment; filename="x.bin"' });
      expect(r.tampered).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
      expect({ status: r.expired.status, code: r.expired.code }).toEqual({ status: 403, code: 'AccessDenied' });
      expect(r.expired.body).toContain('Request has expired');
    }, 60_000);

    test('GeneratePresignedPost: a browser-style form upload stores the file; 201 answers XML; over content-length-range → EntityTooLarge', async () => {
      const r = await py('presign', bucket, 'post');
      expect(r).toMatchObject({ status: 204, contentType: 'text/x-rfs', same: true }); // on failure the diff shows the error body
      expect(r.created).toEqual({
        status: 201,
        response: { Location: expect.stringContaining('/boto3-presign/'), Bucket: 'boto3-presign', Key: 'post/created.bin', ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/) },
      });
      expect(r.tooBig).toEqual({ status: 400, code: 'EntityTooLarge', listed: 0 });
    }, 60_000);
  });

  describe('copy and delete', () => {
    const bucket = 'boto3-copy';
    beforeAll(() => py('tree', 'create-bucket', bucket));

    test('CopyObject_managedCopy_DeleteObjects: metadata COPY/REPLACE, multipart copy byte-exact, missing source, batch delete', async () => {
      const r = await py('copy_delete', bucket);
      expect(r.sameMeta).toEqual({ etag: r.srcEtag, contentType: 'application/x-rfs', metadata: { color: 'blue' } });
      expect(r.newMeta).toEqual({ etag: r.srcEtag, contentType: 'text/plain', metadata: { shape: 'round' } });
      expect(r.big).toEqual({ etag: expect.stringMatching(/^"[0-9a-f]{32}-3"$/), length: 12 * MiB + 5, same: true });
      expect(r.missingSource).toEqual({ code: 'NoSuchKey', status: 404 });
      // S3 reports a key that never existed as deleted, too.
      expect(r.deleteObjects).toEqual({ deleted: r.keys, errors: [], left: 0 });
      await expectBucketEmpty(s3, bucket);
    }, 120_000);
  });

  describe('versioning', () => {
    const bucket = 'boto3-versions';
    beforeAll(() => py('tree', 'create-bucket', bucket));

    test('PutBucketVersioning_versions: ids, old versions, delete marker, undelete, suspend (null version), clean up', async () => {
      const r = await py('versioning', bucket);
      expect(r.initial).toBeNull(); // never-versioned: no Status element
      expect([r.enabled, r.suspended]).toEqual(['Enabled', 'Suspended']);
      const { v1, v2 } = r.ids;
      expect(v1).toEqual(expect.any(String));
      expect(v2).toEqual(expect.any(String));
      expect(new Set([v1, v2, 'null']).size).toBe(3);
      expect({ current: r.current, old: r.old, headOldVersionId: r.headOldVersionId }).toEqual({ current: 'two!', old: 'one', headOldVersionId: v1 });

      expect(r.marker.deleteMarker).toBe(true);
      expect(r.getAfterDelete).toEqual({ code: 'NoSuchKey', status: 404 });
      expect(r.getMarkerVersion).toEqual({ code: 'MethodNotAllowed', status: 405 });
      expect(r.listedAfterDelete).toBe(0);
      expect(r.versionsAfterDelete).toEqual({
        versions: [{ id: v2, latest: false, size: 4 }, { id: v1, latest: false, size: 3 }],
        markers: [{ id: r.marker.id, latest: true }],
      });
      expect(r.afterUndelete).toBe('two!');

      expect(r.versionsSuspended).toEqual({
        versions: [{ id: 'null', latest: true, size: 5 }, { id: v2, latest: false, size: 4 }, { id: v1, latest: false, size: 3 }],
        markers: [],
      });
      expect(r.versionsAtEnd).toEqual({ versions: [], markers: [] });
      await expectBucketEmpty(s3, bucket);
    }, 60_000);
  });
});
