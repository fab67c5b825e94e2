import { createHash } from 'node:crypto';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { pseudoRandom, type TestServer, openSuite, closeSuite, s3Error } from '../harness';
import { signRequest } from '../http/signing';
import { dirUsage, MiB } from '../storage/disk';

/** S3 versioning through @aws-sdk/client-s3 against a real listener: bucket versioning
 * state, versions and delete markers on GET/HEAD/DELETE, ListObjectVersions, and versions
 * sharing chunks on disk. The object filter is rebuilt every second, so the answers hold
 * across rebuilds too; chunks average 256 KiB, so that the disk test can tell one shared
 * object from ten with a tight bound. */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-versions';
const CHUNKING = { RFS_CHUNK_MIN_BYTES: String(128 * 1024), RFS_CHUNK_AVG_BYTES: String(256 * 1024), RFS_CHUNK_MAX_BYTES: String(1024 * 1024) };

beforeAll(async () => {
  ({ server, s3 } = await openSuite(bucket, { RFS_FILTER_REBUILD_SECONDS: '1', ...CHUNKING }));
  await enable(bucket);
});
afterAll(() => closeSuite({ server, s3 }));

async function enable(name: string, status: 'Enabled' | 'Suspended' = 'Enabled'): Promise<void> {
  await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: status } }));
}

async function put(key: string, body: string | Buffer, b = bucket): Promise<string | undefined> {
  return (await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body }))).VersionId;
}

async function get(key: string, versionId?: string, b = bucket): Promise<{ body: Buffer; versionId?: string }> {
  const r = await s3.send(new GetObjectCommand({ Bucket: b, Key: key, VersionId: versionId }));
  return { body: Buffer.from(await r.Body!.transformToByteArray()), versionId: r.VersionId };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every entry of a listing, paged with the given page size: [kind, key, versionId, isLatest]. */
async function listAll(b: string, maxKeys = 1000, prefix?: string): Promise<string[][]> {
  const out: string[][] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const r: ListObjectVersionsCommandOutput = await s3.send(
      new ListObjectVersionsCommand({ Bucket: b, MaxKeys: maxKeys, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
    );
    const entries = [
      ...(r.Versions ?? []).map((v) => ['Version', v.Key!, v.VersionId!, String(v.IsLatest)]),
      ...(r.DeleteMarkers ?? []).map((d) => ['DeleteMarker', d.Key!, d.VersionId!, String(d.IsLatest)]),
    ];
    expect(entries.length).toBeLessThanOrEqual(maxKeys);
    out.push(...entries);
    if (!r.IsTruncated) return out;
    keyMarker = r.NextKeyMarker;
    versionIdMarker = r.NextVersionIdMarker;
  }
}

describe('bucket versioning state', () => {
  test('GetBucketVersioning: no Status until configured, then Enabled, then Suspended', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-vstate' }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'sdk-vstate' }))).Status).toBeUndefined();
    await enable('sdk-vstate');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'sdk-vstate' }))).Status).toBe('Enabled');
    await enable('sdk-vstate', 'Suspended');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'sdk-vstate' }))).Status).toBe('Suspended');
    await s3.send(new DeleteBucketCommand({ Bucket: 'sdk-vstate' }));
  });

  test('PutBucketVersioning_invalid: a bad Status is MalformedXML, none is IllegalVersioningConfigurationException', async () => {
    const putStatus = (conf: object) => s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: conf }));
    expect(await s3Error(putStatus({ Status: 'Disabled' }))).toMatchObject({ name: 'MalformedXML', status: 400 });
    expect(await s3Error(putStatus({ Status: 'enabled' }))).toMatchObject({ name: 'MalformedXML', status: 400 });
    expect(await s3Error(putStatus({}))).toMatchObject({ name: 'IllegalVersioningConfigurationException', status: 400 });
    expect(await s3Error(putStatus({ Status: 'Enabled', MFADelete: 'Enabled' }))).toMatchObject({ name: 'NotImplemented', status: 501 });
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    expect(await s3Error(s3.send(new GetBucketVersioningCommand({ Bucket: 'no-such-bucket-v' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });

  test('PutBucketVersioning_raw: not XML is MalformedXML; a Content-MD5 that does not match is BadDigest', async () => {
    const send = async (body: string, headers: Record<string, string> = {}) => {
      const signed = await signRequest(server.url, { method: 'PUT', path: `/${bucket}`, query: { versioning: '' }, body, headers });
      const res = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body });
      return [res.status, /<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1]];
    };
    const suspend = '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status></VersioningConfiguration>';
    expect(await send('Status=Suspended')).toEqual([400, 'MalformedXML']);
    expect(await send('<Other><Status>Suspended</Status></Other>')).toEqual([400, 'MalformedXML']);
    expect(await send(suspend, { 'content-md5': createHash('md5').update('other').digest('base64') })).toEqual([400, 'BadDigest']);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
  });
});

describe('versions and delete markers', () => {
  const bodies = ['first version', 'second, longer version', pseudoRandom(300_000, 5).toString('latin1')];
  let ids: string[] = [];

  beforeAll(async () => {
    ids = [];
    for (const b of bodies) ids.push((await put('doc', Buffer.from(b, 'latin1')))!);
  });

  test('PutObject in an Enabled bucket: each PUT answers a new version id', async () => {
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('GetObject_versionId: every version byte-exact; the current one names itself', async () => {
    for (let i = 0; i < ids.length; i++) {
      const r = await get('doc', ids[i]);
      expect(r.body.equals(Buffer.from(bodies[i], 'latin1'))).toBe(true);
      expect(r.versionId).toBe(ids[i]);
    }
    expect((await get('doc')).versionId).toBe(ids[2]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: ids[0] }));
    expect([head.VersionId, head.ContentLength]).toEqual([ids[0], bodies[0].length]);
  });

  test('GetObject_versionId_malformed: InvalidArgument 400; an unknown one is NoSuchVersion 404', async () => {
    for (const bad of ['not-a-version', 'NULL', ids[0].toUpperCase(), `${ids[0]}0`]) {
      expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: bad })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
      expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: bad })))).toMatchObject({ status: 400 });
      expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: bad })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    }
    const absent = '00000000-0000-4000-8000-000000000000';
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: absent })))).toMatchObject({ name: 'NoSuchVersion', status: 404 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'never', VersionId: 'null' })))).toMatchObject({ name: 'NoSuchVersion', status: 404 });
    expect((await get('doc')).versionId).toBe(ids[2]); // nothing was deleted
  });

  test('DeleteObject: a delete marker hides the key; old versions stay readable; removing the marker restores it', async () => {
    const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc' }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    expect(del.DeleteMarker).toBe(true);
    const marker = del.VersionId!;
    expect(marker).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids).not.toContain(marker);

    const gone = await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc' })));
    expect(gone).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(gone.headers).toMatchObject({ 'x-amz-delete-marker': 'true', 'x-amz-version-id': marker });
    const headGone = await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'doc' })));
    expect(headGone.status).toBe(404);
    expect(headGone.headers['x-amz-delete-marker']).toBe('true');

    // A version id naming the marker: the method does not apply to a delete marker.
    const byId = await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: marker })));
    expect(byId).toMatchObject({ name: 'MethodNotAllowed', status: 405 });
    expect(byId.headers).toMatchObject({ 'x-amz-delete-marker': 'true', 'x-amz-version-id': marker, allow: 'DELETE' });
    expect(Date.parse(byId.headers['last-modified'])).not.toBeNaN();

    expect((await get('doc', ids[1])).body.toString('latin1')).toBe(bodies[1]);

    const removed = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: marker }));
    expect([removed.$metadata.httpStatusCode, removed.DeleteMarker, removed.VersionId]).toEqual([204, true, marker]);
    const back = await get('doc');
    expect([back.versionId, back.body.toString('latin1')]).toEqual([ids[2], bodies[2]]);
  });

  test('DeleteObject_versionId: removes that version for good; the next newest becomes current', async () => {
    const r = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: ids[2] }));
    expect([r.$metadata.httpStatusCode, r.VersionId, r.DeleteMarker]).toEqual([204, ids[2], undefined]);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: ids[2] })))).toMatchObject({ name: 'NoSuchVersion', status: 404 });
    expect((await get('doc')).versionId).toBe(ids[1]);
    expect(await listAll(bucket, 1000, 'doc')).toEqual([
      ['Version', 'doc', ids[1], 'true'],
      ['Version', 'doc', ids[0], 'false'],
    ]);
  });

  test('Delete markers survive the object filter: a marker on a never-written key, and after rebuilds', async () => {
    const fresh = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'never-written' }));
    expect(fresh.DeleteMarker).toBe(true);
    await put('short-lived', 'x');
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'short-lived' }))).VersionId;
    await sleep(2500); // two rebuilds of the filter (RFS_FILTER_REBUILD_SECONDS=1)
    for (const [key, id] of [['never-written', fresh.VersionId], ['short-lived', marker]]) {
      const e = await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
      expect(e).toMatchObject({ name: 'NoSuchKey', status: 404 });
      expect(e.headers).toMatchObject({ 'x-amz-delete-marker': 'true', 'x-amz-version-id': id });
    }
  });

  test('PutObject_tagging: x-amz-tagging is stored with the version; GET and HEAD count the tags', async () => {
    const tagged = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'tagged', Body: 'x', Tagging: 'a=1&b=two%20words' }))).VersionId;
    await put('tagged', 'y');
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'tagged', VersionId: tagged }))).TagCount).toBe(2);
    expect((await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'tagged', VersionId: tagged }))).TagCount).toBe(2);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'tagged' }))).TagCount).toBeUndefined();
  });
});

describe('suspended versioning', () => {
  const b = 'sdk-suspended';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: b }));
  });

  test('Suspended: PUTs replace the null version and keep earlier versions; a DELETE makes a null marker', async () => {
    expect(await put('k', 'unversioned', b)).toBeUndefined();
    expect((await get('k', undefined, b)).versionId).toBeUndefined(); // never versioned: no version id at all
    await enable(b);
    const kept = await put('k', 'kept', b);
    await enable(b, 'Suspended');
    expect(await put('k', 'null one', b)).toBeUndefined(); // S3 does not name the null version on PUT
    expect(await put('k', 'null two', b)).toBeUndefined();
    const current = await get('k', undefined, b);
    expect([current.versionId, current.body.toString()]).toEqual(['null', 'null two']);
    expect((await get('k', 'null', b)).body.toString()).toBe('null two');
    expect(await listAll(b)).toEqual([
      ['Version', 'k', 'null', 'true'],
      ['Version', 'k', kept!, 'false'],
    ]);

    const del = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }));
    expect([del.DeleteMarker, del.VersionId]).toEqual([true, 'null']);
    expect(await listAll(b)).toEqual([
      ['Version', 'k', kept!, 'false'],
      ['DeleteMarker', 'k', 'null', 'true'],
    ]);
    expect((await get('k', kept, b)).body.toString()).toBe('kept');
  });
});

describe('ListObjectVersions', () => {
  const b = 'sdk-list-versions';
  const ids: Record<string, string[]> = { a: [], b: [] };
  let marker = '';

  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    await enable(b);
    for (const key of ['a', 'b', 'a', 'b', 'a']) ids[key].unshift((await put(key, `${key}${ids[key].length}`, b))!);
    await put('dir/x', 'x', b);
    await put('dir/y', 'y', b);
    marker = (await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'dir/x' }))).VersionId!;
  });

  test('paging with MaxKeys 2 over 5 versions of 2 keys visits each once, newest first per key', async () => {
    const all = await listAll(b, 2, '');
    expect(all.filter(([, key]) => key === 'a' || key === 'b')).toEqual([
      ['Version', 'a', ids.a[0], 'true'],
      ['Version', 'a', ids.a[1], 'false'],
      ['Version', 'a', ids.a[2], 'false'],
      ['Version', 'b', ids.b[0], 'true'],
      ['Version', 'b', ids.b[1], 'false'],
    ]);
    const first = await s3.send(new ListObjectVersionsCommand({ Bucket: b, MaxKeys: 2 }));
    expect(first.IsTruncated).toBe(true);
    expect([first.NextKeyMarker, first.NextVersionIdMarker]).toEqual(['a', ids.a[1]]);
    const second = await s3.send(new ListObjectVersionsCommand({ Bucket: b, MaxKeys: 2, KeyMarker: 'a', VersionIdMarker: ids.a[1] }));
    expect(second.Versions?.map((v) => v.VersionId)).toEqual([ids.a[2], ids.b[0]]);
    expect([second.KeyMarker, second.VersionIdMarker]).toEqual(['a', ids.a[1]]);
    // A key marker alone resumes after all versions of that key.
    const afterA = await s3.send(new ListObjectVersionsCommand({ Bucket: b, KeyMarker: 'a', Prefix: 'b' }));
    expect(afterA.Versions?.map((v) => v.VersionId)).toEqual(ids.b);
  });

  test('entries: ETag, Size, StorageClass, Owner, LastModified; delete markers with IsLatest', async () => {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: 'dir/' }));
    expect(r.Versions?.map((v) => [v.Key, v.IsLatest, v.Size, v.StorageClass])).toEqual([
      ['dir/x', false, 1, 'STANDARD'],
      ['dir/y', true, 1, 'STANDARD'],
    ]);
    const v = r.Versions![0];
    expect(v.ETag).toBe('"9dd4e461268c8034f5c8564e155c67a6"'); // MD5 of "x"
    expect(v.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
    expect(Math.abs(v.LastModified!.getTime() - Date.now())).toBeLessThan(120_000);
    expect(r.DeleteMarkers?.map((d) => [d.Key, d.VersionId, d.IsLatest])).toEqual([['dir/x', marker, true]]);
    expect(r.DeleteMarkers?.[0].Owner?.ID).toBe(v.Owner?.ID);
  });

  test('the XML interleaves Version and DeleteMarker in key order, newest first', async () => {
    const signed = await signRequest(server.url, { method: 'GET', path: `/${b}`, query: { versions: '', prefix: 'dir/' } });
    const res = await fetch(signed.url, { headers: signed.headers });
    expect(res.status).toBe(200);
    const xml = await res.text();
    const order = [...xml.matchAll(/<(Version|DeleteMarker)><Key>([^<]*)<\/Key>/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(order).toEqual(['DeleteMarker dir/x', 'Version dir/x', 'Version dir/y']);
  });

  test('delimiter, CommonPrefixes and encoding-type=url', async () => {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Delimiter: '/' }));
    expect(r.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['dir/']);
    expect(r.Versions?.every((v) => !v.Key!.includes('/'))).toBe(true);
    expect(r.DeleteMarkers ?? []).toEqual([]);
    await put('with space/k+1', 'z', b);
    const enc = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: 'with space/', EncodingType: 'url' }));
    expect(enc.Versions?.map((v) => v.Key)).toEqual(['with%20space/k%2B1']);
  });

  test('version-id-marker without key-marker, or malformed: InvalidArgument 400', async () => {
    expect(await s3Error(s3.send(new ListObjectVersionsCommand({ Bucket: b, VersionIdMarker: ids.a[0] })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await s3Error(s3.send(new ListObjectVersionsCommand({ Bucket: b, KeyMarker: 'a', VersionIdMarker: 'bogus' })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
  });

  test('an unversioned bucket lists its objects as null versions', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-plain-versions' }));
    await put('one', '1', 'sdk-plain-versions');
    await put('two', '2', 'sdk-plain-versions');
    expect(await listAll('sdk-plain-versions')).toEqual([
      ['Version', 'one', 'null', 'true'],
      ['Version', 'two', 'null', 'true'],
    ]);
  });
});

test('Versions share chunks: ten versions of a 16 MiB object, each a few bytes apart, take little more than one on disk', async () => {
  const chunkDir = path.join(server.dataDir, 'chunks');
  const base = pseudoRandom(16 * MiB, 77);
  const version = (i: number) => {
    const v = Buffer.from(base);
    v.write(`version ${i}`, Math.floor((i * 1.5 + 0.3) * MiB), 'latin1');
    return v;
  };
  const before = (await dirUsage(chunkDir)).bytes;
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await put('big', version(i)))!);
  const grown = (await dirUsage(chunkDir)).bytes - before;
  expect(grown).toBeGreaterThan(15.9 * MiB);
  expect(grown).toBeLessThan(1.25 * 16 * MiB); // ten full copies would be 160 MiB
  for (const i of [0, 4, 9]) expect((await get('big', ids[i])).body.equals(version(i))).toBe(true);
}, 120_000);

test('DeleteBucket: a bucket holding only delete markers is not empty', async () => {
  const b = 'sdk-only-markers';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  await enable(b);
  const v = await put('k', 'x', b);
  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v }));
  const marker = (await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }))).VersionId!;
  expect(await listAll(b)).toEqual([['DeleteMarker', 'k', marker, 'true']]);
  expect(await s3Error(s3.send(new DeleteBucketCommand({ Bucket: b })))).toMatchObject({ name: 'BucketNotEmpty', status: 409 });
  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: marker }));
  await s3.send(new DeleteBucketCommand({ Bucket: b }));
});
