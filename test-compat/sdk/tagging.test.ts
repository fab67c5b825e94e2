import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectTaggingCommand,
  GetBucketAclCommand,
  GetBucketTaggingCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutBucketAclCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
  type Tag,
} from '@aws-sdk/client-s3';
import { pseudoRandom, type TestServer, openSuite, closeSuite, s3Error } from '../harness';
import { signRequest } from '../http/signing';
import { MiB } from '../storage/disk';

/** Object and bucket tagging, GetObjectAttributes and the owner-only ACL answers, through
 * @aws-sdk/client-s3 against a real listener, with S3's limits and exact errors. */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-tagging';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

const tagSet = (tags: Record<string, string>): Tag[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const asRecord = (set: Tag[] | undefined) => Object.fromEntries((set ?? []).map((t) => [t.Key!, t.Value!]));
const manyTags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));

async function tagsOf(key: string, versionId?: string): Promise<Record<string, string>> {
  return asRecord((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId }))).TagSet);
}

const putTags = (key: string, tags: Tag[]) => s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: tags } }));

describe('object tagging', () => {
  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'tag me' }));
  });

  test('ObjectTagging_roundTrip: put, get, replace, delete', async () => {
    expect(await tagsOf('obj')).toEqual({});
    await putTags('obj', tagSet({ project: 'rfs', 'with space': 'a value + more', 'ünï': 'çødé' }));
    expect(await tagsOf('obj')).toEqual({ project: 'rfs', 'with space': 'a value + more', 'ünï': 'çødé' });
    await putTags('obj', tagSet({ only: 'one' }));
    expect(await tagsOf('obj')).toEqual({ only: 'one' });
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'obj' }));
    expect(await tagsOf('obj')).toEqual({});
  });

  test('ObjectTagging_order: tags come back in the order they were set, on objects and buckets', async () => {
    const keysOf = async (key: string) => (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet!.map((t) => t.Key);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ordered', Body: 'o', Tagging: 'Hello=World&foo=bar' }));
    expect(await keysOf('ordered')).toEqual(['Hello', 'foo']);
    await putTags('ordered', tagSet({ zeta: '1', alpha: '2', 'a-much-longer-key': '3', b: '4' }));
    expect(await keysOf('ordered')).toEqual(['zeta', 'alpha', 'a-much-longer-key', 'b']);
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: 'team', Value: 'x' }, { Key: 'cost-center', Value: 'y' }, { Key: 'a', Value: 'z' }] } }));
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet!.map((t) => t.Key)).toEqual(['team', 'cost-center', 'a']);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: bucket }));
  });

  test('ObjectTagging_header: PutObject x-amz-tagging is stored; GET counts the tags', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hdr', Body: 'h', Tagging: 'a=1&b=two%20words&empty=&flag' }));
    expect(await tagsOf('hdr')).toEqual({ a: '1', b: 'two words', empty: '', flag: '' });
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hdr' }));
    await get.Body!.transformToByteArray();
    expect(get.TagCount).toBe(4);
  });

  test('ObjectTagging_limits: exactly at the limits is accepted', async () => {
    await putTags('obj', tagSet(manyTags(10)));
    expect(Object.keys(await tagsOf('obj'))).toHaveLength(10);
    await putTags('obj', tagSet({ ['k'.repeat(128)]: 'v'.repeat(256) }));
    expect(await tagsOf('obj')).toEqual({ ['k'.repeat(128)]: 'v'.repeat(256) });
    // 64 letters outside the BMP are 128 UTF-16 code units: S3 counts those.
    await putTags('obj', tagSet({ ['𠀀'.repeat(64)]: 'x' }));
    expect(Object.keys(await tagsOf('obj'))).toEqual(['𠀀'.repeat(64)]);
  });

  test.each([
    ['11 tags', tagSet(manyTags(11)), 'InvalidTag', 'Object tags cannot be greater than 10'],
    ['a 129-character key', tagSet({ ['k'.repeat(129)]: 'v' }), 'InvalidTag', 'The TagKey you have provided is too long, max 128'],
    ['65 letters outside the BMP in a key (130 UTF-16 units)', tagSet({ ['𠀀'.repeat(65)]: 'v' }), 'InvalidTag', 'The TagKey you have provided is too long, max 128'],
    ['a 257-character value', tagSet({ k: 'v'.repeat(257) }), 'InvalidTag', 'The TagValue you have provided is too long, max 256'],
    ['a duplicate key', [{ Key: 'same', Value: '1' }, { Key: 'same', Value: '2' }], 'InvalidTag', 'Cannot provide multiple Tags with the same key'],
    ['an aws: key', tagSet({ 'aws:cloudformation:stack': 'x' }), 'InvalidTag', 'Your TagKey cannot be prefixed with aws:'],
    ['a key with braces', tagSet({ '{bad}': 'x' }), 'InvalidTag', 'The TagKey you have provided is invalid'],
    ['a value with a comma', tagSet({ k: 'a,b' }), 'InvalidTag', 'The TagValue you have provided is invalid'],
    ['an emoji (a symbol, not a letter)', tagSet({ k: '😀' }), 'InvalidTag', 'The TagValue you have provided is invalid'],
  ])('ObjectTagging_invalid: %s', async (_name, tags, code, message) => {
    await putTags('obj', tagSet({ before: 'kept' }));
    const e = await s3Error(putTags('obj', tags));
    expect(e).toMatchObject({ name: code, status: 400, message });
    expect(await tagsOf('obj')).toEqual({ before: 'kept' });
  });

  test.each([
    ['11 tags', Object.entries(manyTags(11)).map(([k, v]) => `${k}=${v}`).join('&'), 'InvalidTag'],
    ['a duplicate key', 'a=1&a=2', 'InvalidArgument'],
    ['a pair with two =', 'a=b=c', 'InvalidArgument'],
    ['an aws: key', 'aws:x=1', 'InvalidTag'],
    ['a 129-character key', `${'k'.repeat(129)}=v`, 'InvalidTag'],
  ])('ObjectTagging_invalidHeader: PutObject with %s → %s 400, nothing stored', async (_name, tagging, code) => {
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-hdr', Body: 'x', Tagging: tagging })))).toMatchObject({
      name: code,
      status: 400,
    });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-hdr' })))).toMatchObject({ status: 404 });
  });

  test('ObjectTagging_missing: NoSuchKey 404 for a key that does not exist', async () => {
    expect(await s3Error(putTags('no-such-key', tagSet({ a: '1' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await s3Error(s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'no-such-key' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });

  test('ObjectTagging_versions: each version has its own tags; answers name the version', async () => {
    const vb = 'sdk-tagging-versions';
    await s3.send(new CreateBucketCommand({ Bucket: vb }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: '1', Tagging: 'gen=1' }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: '2' }))).VersionId!;
    const put = await s3.send(new PutObjectTaggingCommand({ Bucket: vb, Key: 'k', VersionId: v1, Tagging: { TagSet: tagSet({ gen: 'one' }) } }));
    expect(put.VersionId).toBe(v1);
    const current = await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'k' }));
    expect(current.VersionId).toBe(v2);
    expect(asRecord(current.TagSet)).toEqual({});
    const old = await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'k', VersionId: v1 }));
    expect(asRecord(old.TagSet)).toEqual({ gen: 'one' });
    expect(await s3Error(s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'k', VersionId: 'bogus' })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
  });
});

describe('bucket tagging', () => {
  const tb = 'sdk-tagging-bucket';
  beforeAll(() => s3.send(new CreateBucketCommand({ Bucket: tb })));

  test('BucketTagging_roundTrip: none → NoSuchTagSet 404; put 50; get; delete → NoSuchTagSet again', async () => {
    expect(await s3Error(s3.send(new GetBucketTaggingCommand({ Bucket: tb })))).toMatchObject({ name: 'NoSuchTagSet', status: 404 });
    await s3.send(new PutBucketTaggingCommand({ Bucket: tb, Tagging: { TagSet: tagSet(manyTags(50)) } }));
    expect(asRecord((await s3.send(new GetBucketTaggingCommand({ Bucket: tb }))).TagSet)).toEqual(manyTags(50));
    await s3.send(new PutBucketTaggingCommand({ Bucket: tb, Tagging: { TagSet: tagSet({ env: 'test' }) } }));
    expect(asRecord((await s3.send(new GetBucketTaggingCommand({ Bucket: tb }))).TagSet)).toEqual({ env: 'test' });
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: tb }));
    expect(await s3Error(s3.send(new GetBucketTaggingCommand({ Bucket: tb })))).toMatchObject({ name: 'NoSuchTagSet', status: 404 });
  });

  test.each([
    ['51 tags', tagSet(manyTags(51)), 'BadRequest', 'Bucket tag count cannot be greater than 50'],
    ['an aws: key', tagSet({ 'aws:x': '1' }), 'InvalidTag', 'System tags cannot be added/updated by requester'],
    ['a duplicate key', [{ Key: 'd', Value: '1' }, { Key: 'd', Value: '1' }], 'InvalidTag', 'Cannot provide multiple Tags with the same key'],
    ['a 129-character key', tagSet({ ['k'.repeat(129)]: 'v' }), 'InvalidTag', 'The TagKey you have provided is too long, max 128'],
  ])('BucketTagging_invalid: %s', async (_name, tags, code, message) => {
    expect(await s3Error(s3.send(new PutBucketTaggingCommand({ Bucket: tb, Tagging: { TagSet: tags } })))).toMatchObject({ name: code, status: 400, message });
    expect(await s3Error(s3.send(new GetBucketTaggingCommand({ Bucket: tb })))).toMatchObject({ name: 'NoSuchTagSet' });
  });

  test('BucketTagging_noBucket: NoSuchBucket 404', async () => {
    expect(await s3Error(s3.send(new GetBucketTaggingCommand({ Bucket: 'no-such-bucket-tagging' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });
});

describe('GetObjectAttributes', () => {
  test('GetObjectAttributes_singlePut: ETag without quotes, checksum, size, storage class', async () => {
    const data = pseudoRandom(200 * 1024, 5);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'attrs', Body: data, ChecksumAlgorithm: 'CRC32' }));
    const r = await s3.send(
      new GetObjectAttributesCommand({ Bucket: bucket, Key: 'attrs', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] }),
    );
    expect(r.ETag).toBe(put.ETag!.replace(/"/g, ''));
    expect(r.Checksum?.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(r.Checksum?.ChecksumType).toBe('FULL_OBJECT');
    expect(r.ObjectSize).toBe(data.length);
    expect(r.StorageClass).toBe('STANDARD');
    expect(r.ObjectParts).toBeUndefined();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'attrs' }));
    expect(r.LastModified?.getTime()).toBe(head.LastModified?.getTime()); // both HTTP dates
  });

  test('GetObjectAttributes_subset: only the attributes asked for', async () => {
    const r = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'attrs', ObjectAttributes: ['ObjectSize'] }));
    expect(r.ObjectSize).toBe(200 * 1024);
    expect(r.ETag).toBeUndefined();
    expect(r.Checksum).toBeUndefined();
    expect(r.StorageClass).toBeUndefined();
  });

  test('GetObjectAttributes_errors: unknown attribute, missing header, missing key', async () => {
    expect(
      await s3Error(s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'attrs', ObjectAttributes: ['Bogus' as 'ETag'] }))),
    ).toMatchObject({ name: 'InvalidArgument', status: 400, message: 'Invalid attribute name specified.' });
    const signed = await signRequest(server.url, { method: 'GET', path: `/${bucket}/attrs`, query: { attributes: '' } });
    const res = await fetch(signed.url, { headers: signed.headers });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>InvalidRequest</Code>');
    expect(await s3Error(s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'nope', ObjectAttributes: ['ETag'] })))).toMatchObject({
      name: 'NoSuchKey',
      status: 404,
    });
  });

  test('GetObjectAttributes_multipart: parts count, and parts paged by max-parts / part-number-marker', async () => {
    const key = 'mpu-attrs';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'CRC32' }));
    const parts = [];
    for (let n = 1; n <= 3; n++) {
      const size = n < 3 ? 5 * MiB : 1024;
      const p = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: pseudoRandom(size, n), ChecksumAlgorithm: 'CRC32' }),
      );
      parts.push({ PartNumber: n, ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));

    const first = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['ObjectParts', 'ETag'], MaxParts: 2 }));
    expect(first.ETag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(first.ObjectParts?.TotalPartsCount).toBe(3);
    expect(first.ObjectParts?.IsTruncated).toBe(true);
    expect(first.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumCRC32])).toEqual([
      [1, 5 * MiB, parts[0].ChecksumCRC32],
      [2, 5 * MiB, parts[1].ChecksumCRC32],
    ]);
    const rest = await s3.send(
      new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['ObjectParts'], PartNumberMarker: first.ObjectParts!.NextPartNumberMarker }),
    );
    expect(rest.ObjectParts?.IsTruncated).toBe(false);
    expect(rest.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[3, 1024]]);
  });

  test('GetObjectAttributes_multipartNoAlgorithm: an upload made without a checksum algorithm lists its parts too, paged', async () => {
    const key = 'mpu-plain';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const parts = [];
    for (let n = 1; n <= 2; n++) {
      const p = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: pseudoRandom(n === 1 ? 5 * MiB : 10, n) }));
      parts.push({ PartNumber: n, ETag: p.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    const r = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['ObjectParts'], MaxParts: 1 }));
    expect(r.ObjectParts).toMatchObject({ TotalPartsCount: 2, PartNumberMarker: '0', NextPartNumberMarker: '1', MaxParts: 1, IsTruncated: true });
    expect(r.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MiB]]);
  });
});

describe('ACL', () => {
  let owner: string;
  beforeAll(async () => {
    owner = (await s3.send(new ListBucketsCommand({}))).Owner!.ID!;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'acl-obj', Body: 'acl' }));
  });

  test('Acl_get: bucket and object answer the owner with FULL_CONTROL', async () => {
    for (const acl of [
      await s3.send(new GetBucketAclCommand({ Bucket: bucket })),
      await s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'acl-obj' })),
    ]) {
      expect(acl.Owner?.ID).toBe(owner);
      expect(acl.Grants).toEqual([{ Grantee: expect.objectContaining({ ID: owner, Type: 'CanonicalUser' }), Permission: 'FULL_CONTROL' }]);
    }
  });

  test('Acl_putPrivate: canned private, and a policy granting only the owner, are accepted', async () => {
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'private' }));
    await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'acl-obj', ACL: 'private' }));
    const policy = { Owner: { ID: owner }, Grants: [{ Grantee: { ID: owner, Type: 'CanonicalUser' as const }, Permission: 'FULL_CONTROL' as const }] };
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, AccessControlPolicy: policy }));
    await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'acl-obj', AccessControlPolicy: policy }));
  });

  test('Acl_missingObject: NoSuchKey 404', async () => {
    expect(await s3Error(s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'no-such-acl-key' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });
});
