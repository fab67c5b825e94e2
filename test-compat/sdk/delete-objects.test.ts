import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type TestServer, openSuite, closeSuite, s3Error } from '../harness';
import { signRequest } from '../http/signing';

/** DeleteObjects (POST ?delete) through @aws-sdk/client-s3 at its defaults (a CRC32 checksum
 * of the body), and raw signed requests for the body-integrity rules the SDK always obeys. */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-multi-delete';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

async function putAll(keys: string[], b = bucket): Promise<void> {
  for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: `body of ${key}` }));
}

async function keysIn(prefix: string, b = bucket): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!);
}

const del = (objects: { Key: string; VersionId?: string }[], quiet?: boolean, b = bucket) =>
  s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: objects, ...(quiet !== undefined ? { Quiet: quiet } : {}) } }));

/** A raw POST ?delete with exactly the headers given (signed; no checksum added). */
async function rawDelete(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const signed = await signRequest(server.url, { method: 'POST', path: `/${bucket}`, query: { delete: '' }, headers, body });
  const res = await fetch(signed.url, { method: 'POST', headers: signed.headers, body });
  return { status: res.status, text: await res.text() };
}

const md5b64 = (s: string) => createHash('md5').update(s).digest('base64');

test('DeleteObjects_verbose: every key is reported deleted, existing or not, and is gone', async () => {
  await putAll(['v/a', 'v/b', 'v/c']);
  const r = await del([{ Key: 'v/a' }, { Key: 'v/b' }, { Key: 'v/never-existed' }]);
  expect(r.Deleted?.map((d) => d.Key).sort()).toEqual(['v/a', 'v/b', 'v/never-existed']);
  expect(r.Errors ?? []).toEqual([]);
  expect(await keysIn('v/')).toEqual(['v/c']);
});

test('DeleteObjects_quiet: success is silent, the keys are gone', async () => {
  await putAll(['q/1', 'q/2']);
  const r = await del([{ Key: 'q/1' }, { Key: 'q/2' }], true);
  expect(r.Deleted ?? []).toEqual([]);
  expect(r.Errors ?? []).toEqual([]);
  expect(await keysIn('q/')).toEqual([]);
});

test('DeleteObjects_errors: a malformed version id fails that key alone, quiet or not', async () => {
  await putAll(['e/ok', 'e/kept']);
  for (const quiet of [false, true]) {
    const r = await del([{ Key: 'e/ok' }, { Key: 'e/kept', VersionId: 'not-a-version' }], quiet);
    expect(r.Errors).toEqual([{ Key: 'e/kept', VersionId: 'not-a-version', Code: 'NoSuchVersion', Message: 'The specified version does not exist.' }]);
    expect(r.Deleted?.map((d) => d.Key) ?? []).toEqual(quiet ? [] : ['e/ok']);
  }
  expect(await keysIn('e/')).toEqual(['e/kept']);
});

test('DeleteObjects_specialKeys: keys with spaces at the ends and markup characters', async () => {
  const keys = [' lead and trail ', 'a&b<c>"d\'', 'ünï/çødé'];
  await putAll(keys);
  const r = await del(keys.map((Key) => ({ Key })));
  expect(r.Deleted?.map((d) => d.Key).sort()).toEqual([...keys].sort());
  for (const key of keys) expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))).toMatchObject({ status: 404 });
});

test('DeleteObjects_carriageReturn: a key with CR is deleted and named back exactly (S3 writes it as &#13;)', async () => {
  const key = 'line\rbreak';
  await putAll([key]);
  const r = await del([{ Key: key }]);
  expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))).toMatchObject({ status: 404 });
  // An XML reader turns a literal CR into LF: only a character reference carries it.
  expect(r.Deleted?.map((d) => d.Key)).toEqual([key]);
});

test('DeleteObjects_1001Keys: MalformedXML 400, nothing deleted', async () => {
  await putAll(['big/keep']);
  const objects = Array.from({ length: 1001 }, (_, i) => ({ Key: i === 0 ? 'big/keep' : `big/${i}` }));
  expect(await s3Error(del(objects))).toMatchObject({ name: 'MalformedXML', status: 400 });
  expect(await keysIn('big/')).toEqual(['big/keep']);
  const r = await del(objects.slice(0, 1000), true);
  expect(r.Errors ?? []).toEqual([]);
  expect(await keysIn('big/')).toEqual([]);
});

describe('body integrity', () => {
  const body = '<Delete><Object><Key>raw/k</Key></Object></Delete>';

  test('DeleteObjects_noChecksum: InvalidRequest 400 without Content-MD5 or x-amz-checksum-*', async () => {
    await putAll(['raw/k']);
    const r = await rawDelete(body, {});
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>InvalidRequest</Code>');
    expect(r.text).toContain('Missing required header for this request: Content-MD5');
    expect(await keysIn('raw/')).toEqual(['raw/k']);
  });

  test('DeleteObjects_wrongMd5: BadDigest 400, nothing deleted', async () => {
    const r = await rawDelete(body, { 'content-md5': md5b64('something else') });
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>BadDigest</Code>');
    expect(await keysIn('raw/')).toEqual(['raw/k']);
  });

  test('DeleteObjects_contentMd5: a correct Content-MD5 alone is enough', async () => {
    const r = await rawDelete(body, { 'content-md5': md5b64(body) });
    expect(r.status).toBe(200);
    expect(r.text).toContain('<Deleted><Key>raw/k</Key></Deleted>');
    expect(await keysIn('raw/')).toEqual([]);
  });

  test.each([
    ['not XML', 'this is not xml'],
    ['no Object', '<Delete><Quiet>true</Quiet></Delete>'],
    ['an Object without Key', '<Delete><Object><VersionId>null</VersionId></Object></Delete>'],
    ['another root', '<Remove><Object><Key>k</Key></Object></Remove>'],
  ])('DeleteObjects_malformed: %s → MalformedXML 400', async (_name, text) => {
    const r = await rawDelete(text, { 'content-md5': md5b64(text) });
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>MalformedXML</Code>');
  });
});

describe('versioned bucket', () => {
  const vb = 'sdk-multi-delete-versions';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: vb }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
  });

  test('DeleteObjects_versions: markers created and removed, versions removed for good', async () => {
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'doc', Body: 'one' }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'doc', Body: 'two' }))).VersionId!;

    const marked = await del([{ Key: 'doc' }], false, vb);
    const marker = marked.Deleted?.[0];
    expect(marker).toMatchObject({ Key: 'doc', DeleteMarker: true });
    expect(marker?.DeleteMarkerVersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: vb, Key: 'doc' })))).toMatchObject({ status: 404 });

    const removed = await del([{ Key: 'doc', VersionId: marker!.DeleteMarkerVersionId! }, { Key: 'doc', VersionId: v1 }], false, vb);
    const byVersion = Object.fromEntries((removed.Deleted ?? []).map((d) => [d.VersionId!, d]));
    expect(byVersion[marker!.DeleteMarkerVersionId!]).toEqual({
      Key: 'doc', VersionId: marker!.DeleteMarkerVersionId, DeleteMarker: true, DeleteMarkerVersionId: marker!.DeleteMarkerVersionId,
    });
    expect(byVersion[v1]).toEqual({ Key: 'doc', VersionId: v1 });

    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: vb, Prefix: 'doc' }));
    expect(versions.Versions?.map((v) => v.VersionId)).toEqual([v2]);
    expect(versions.DeleteMarkers ?? []).toEqual([]);
  });
});
