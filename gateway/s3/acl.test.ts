import { s3Failure } from '../protocol/errors.testing';
import { ALL_USERS, AUTHENTICATED_USERS, aclXml, cannedAcl } from '../iam/acl';
import { getBucketAcl, getObjectAcl, putBucketAcl, putObjectAcl } from './acl';
import { OTHER, OWNER, THIRD, fakeCall, newWorld, otherCaller, putVersion, type CallOptions } from './bucket-call.testing';

/** Handlers over a fake call: the forms an ACL comes in, what is stored, and what ownership
 * controls and BlockPublicAcls let through. (test-compat/sdk/acl.test.ts: the same through the
 * AWS SDK against a server.) */

const FULL = (id: string) => ({ grantee: { type: 'CanonicalUser' as const, id }, permission: 'FULL_CONTROL' as const });
const READ_ALL = { grantee: { type: 'Group' as const, uri: ALL_USERS }, permission: 'READ' as const };
const policyBody = (owner: string, grants: string) =>
  `<AccessControlPolicy><Owner><ID>${owner}</ID></Owner><AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`;
const groupGrant = (uri: string, permission: string) =>
  `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${uri}</URI></Grantee><Permission>${permission}</Permission></Grant>`;
const userGrant = (id: string, permission: string) =>
  `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${id}</ID></Grantee><Permission>${permission}</Permission></Grant>`;

describe('GetBucketAcl', () => {
  test('no ACL set: the owner with FULL_CONTROL, named by the caller\'s display name', async () => {
    const world = newWorld();
    const { call, sent } = fakeCall(world);
    await getBucketAcl(call);
    expect(sent.type).toBe('application/xml');
    expect(sent.body).toBe(aclXml({ id: OWNER, displayName: 'owner-name' }, [FULL(OWNER)]));
  });

  test('a stored ACL, grantees named by their user names; an anonymous caller sees names too', async () => {
    const world = newWorld({ acl: [FULL(OWNER), READ_ALL, { grantee: { type: 'CanonicalUser', id: OTHER }, permission: 'WRITE' }] });
    const { call, sent } = fakeCall(world, { caller: undefined });
    await getBucketAcl(call);
    expect(sent.body).toBe(aclXml({ id: OWNER, displayName: 'owner-name' }, world.bucket.acl!, new Map([[OTHER, 'other-name']])));
  });

  test('BucketOwnerEnforced: the owner\'s FULL_CONTROL, whatever was stored', async () => {
    const world = newWorld({ ownership: 'BucketOwnerEnforced', acl: [] });
    const { call, sent } = fakeCall(world);
    await getBucketAcl(call);
    expect(sent.body).toBe(aclXml({ id: OWNER, displayName: 'owner-name' }, [FULL(OWNER)]));
  });
});

describe('PutBucketAcl', () => {
  test('canned: the grants are stored; private stores no ACL at all', async () => {
    const world = newWorld();
    await putBucketAcl(fakeCall(world, { headers: { 'x-amz-acl': 'public-read' } }).call);
    expect(world.bucket.acl).toEqual([FULL(OWNER), READ_ALL]);
    await putBucketAcl(fakeCall(world, { headers: { 'x-amz-acl': 'private' } }).call);
    expect(world.bucket.acl).toBeUndefined();
    expect(world.patches).toEqual([{ acl: [FULL(OWNER), READ_ALL] }, { acl: null }]);
  });

  test('grant headers: exactly the grants given, to existing users', async () => {
    const world = newWorld();
    await putBucketAcl(fakeCall(world, { headers: { 'x-amz-grant-read': `id="${OTHER}", uri="${AUTHENTICATED_USERS}"`, 'x-amz-grant-write': `id=${THIRD}` } }).call);
    expect(world.bucket.acl).toEqual([
      { grantee: { type: 'CanonicalUser', id: OTHER }, permission: 'READ' },
      { grantee: { type: 'Group', uri: AUTHENTICATED_USERS }, permission: 'READ' },
      { grantee: { type: 'CanonicalUser', id: THIRD }, permission: 'WRITE' },
    ]);
  });

  test('a document: its grants; an empty list is stored as an empty ACL', async () => {
    const world = newWorld();
    await putBucketAcl(fakeCall(world, { body: policyBody(OWNER, userGrant(OWNER, 'FULL_CONTROL') + groupGrant(ALL_USERS, 'READ')) }).call);
    expect(world.bucket.acl).toEqual([FULL(OWNER), READ_ALL]);
    await putBucketAcl(fakeCall(world, { body: policyBody(OWNER, '') }).call);
    expect(world.bucket.acl).toEqual([]);
  });

  test('a canonical id naming no user is "Invalid id", with how it was given', async () => {
    const unknown = 'f'.repeat(64);
    const byHeader = await s3Failure(putBucketAcl(fakeCall(newWorld(), { headers: { 'x-amz-grant-read': `id="${unknown}"` } }).call));
    expect(byHeader).toMatchObject({ code: 'InvalidArgument', message: 'Invalid id', fields: { ArgumentName: 'id', ArgumentValue: unknown } });
    const byDocument = await s3Failure(putBucketAcl(fakeCall(newWorld(), { body: policyBody(OWNER, userGrant(unknown, 'READ')) }).call));
    expect(byDocument).toMatchObject({ code: 'InvalidArgument', fields: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: unknown } });
  });

  test('nothing at all: MissingSecurityHeader naming x-amz-acl', async () => {
    expect(await s3Failure(putBucketAcl(fakeCall(newWorld()).call))).toMatchObject({
      code: 'MissingSecurityHeader', status: 400, fields: { MissingHeaderName: 'x-amz-acl' },
    });
  });

  test('headers and a body: refused, nothing stored', async () => {
    const world = newWorld();
    const e = await s3Failure(putBucketAcl(fakeCall(world, { headers: { 'x-amz-acl': 'private' }, body: policyBody(OWNER, '') }).call));
    expect(e).toMatchObject({ status: 400, message: 'This request does not support content.' });
    expect(world.patches).toEqual([]);
  });

  test('canned and grant headers together: InvalidRequest', async () => {
    const e = await s3Failure(putBucketAcl(fakeCall(newWorld(), { headers: { 'x-amz-acl': 'private', 'x-amz-grant-read': `id="${OTHER}"` } }).call));
    expect(e).toMatchObject({ code: 'InvalidRequest', message: 'Specifying both Canned ACLs and Header Grants is not allowed' });
  });

  test('a document naming another owner: AccessDenied', async () => {
    expect((await s3Failure(putBucketAcl(fakeCall(newWorld(), { body: policyBody(OTHER, '') }).call))).code).toBe('AccessDenied');
  });

  test('BlockPublicAcls refuses a public ACL in any form, and lets a private one through', async () => {
    const pab = { blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };
    const world = newWorld({ publicAccessBlock: pab });
    for (const request of <CallOptions[]>[
      { headers: { 'x-amz-acl': 'public-read' } },
      { headers: { 'x-amz-acl': 'authenticated-read' } },
      { headers: { 'x-amz-grant-read': `uri="${ALL_USERS}"` } },
      { body: policyBody(OWNER, groupGrant(AUTHENTICATED_USERS, 'READ_ACP')) },
    ]) {
      expect((await s3Failure(putBucketAcl(fakeCall(world, request).call))).code).toBe('AccessDenied');
    }
    await putBucketAcl(fakeCall(world, { headers: { 'x-amz-grant-read': `id="${OTHER}"` } }).call);
    expect(world.patches).toHaveLength(1);
  });

  test('BucketOwnerEnforced: AccessControlListNotSupported, except the ACLs that change nothing', async () => {
    const world = newWorld({ ownership: 'BucketOwnerEnforced' });
    for (const request of <CallOptions[]>[
      { headers: { 'x-amz-acl': 'public-read' } },
      { headers: { 'x-amz-grant-read': `id="${OTHER}"` } },
      { body: policyBody(OWNER, '') },
      { body: policyBody(OWNER, userGrant(OWNER, 'FULL_CONTROL') + groupGrant(ALL_USERS, 'READ')) },
    ]) {
      expect(await s3Failure(putBucketAcl(fakeCall(world, request).call))).toMatchObject({ code: 'AccessControlListNotSupported', status: 400 });
    }
    for (const request of <CallOptions[]>[
      { headers: { 'x-amz-acl': 'private' } },
      { headers: { 'x-amz-acl': 'bucket-owner-full-control' } },
      { headers: { 'x-amz-grant-full-control': `id="${OWNER}"` } },
      { body: policyBody(OWNER, userGrant(OWNER, 'FULL_CONTROL')) },
    ]) {
      const { call, sent } = fakeCall(world, request);
      await putBucketAcl(call);
      expect(sent.status).toBe(200);
    }
    expect(world.patches).toEqual([]);
  });
});

describe('GetObjectAcl', () => {
  test('the object\'s owner and ACL; the default ACL when none was set', async () => {
    const world = newWorld();
    putVersion(world, 'mine');
    putVersion(world, 'theirs', { owner: OTHER, acl: cannedAcl('bucket-owner-read', { owner: OTHER, bucketOwner: OWNER }) });
    const mine = fakeCall(world, { key: 'mine' });
    await getObjectAcl(mine.call);
    expect(mine.sent.body).toBe(aclXml({ id: OWNER, displayName: 'owner-name' }, [FULL(OWNER)]));
    expect(mine.sent.headers).toEqual({});
    const theirs = fakeCall(world, { key: 'theirs' });
    await getObjectAcl(theirs.call);
    expect(theirs.sent.body).toBe(
      aclXml({ id: OTHER, displayName: 'other-name' }, [FULL(OTHER), { grantee: { type: 'CanonicalUser', id: OWNER }, permission: 'READ' }], new Map([[OWNER, 'owner-name']])),
    );
  });

  test('BucketOwnerEnforced: the bucket owner owns every object, with FULL_CONTROL', async () => {
    const world = newWorld({ ownership: 'BucketOwnerEnforced' });
    putVersion(world, 'theirs', { owner: OTHER, acl: [FULL(OTHER), READ_ALL] });
    const { call, sent } = fakeCall(world, { key: 'theirs', caller: otherCaller });
    await getObjectAcl(call);
    expect(sent.body).toBe(aclXml({ id: OWNER, displayName: 'owner-name' }, [FULL(OWNER)]));
  });

  test('a versioned bucket names the version; errors as GetObject\'s', async () => {
    const world = newWorld({ versioning: 'Enabled' });
    const v = '11111111-2222-3333-4444-555555555555';
    putVersion(world, 'k', { versionId: v });
    const { call, sent } = fakeCall(world, { key: 'k', query: `versionId=${v}` });
    await getObjectAcl(call);
    expect(sent.headers).toEqual({ 'x-amz-version-id': v });
    expect((await s3Failure(getObjectAcl(fakeCall(world, { key: 'nope' }).call))).code).toBe('NoSuchKey');
    expect((await s3Failure(getObjectAcl(fakeCall(world, { key: 'k', query: 'versionId=bad' }).call))).code).toBe('InvalidArgument');
    putVersion(world, 'gone', { deleteMarker: true });
    expect((await s3Failure(getObjectAcl(fakeCall(world, { key: 'gone' }).call))).code).toBe('NoSuchKey');
  });
});

describe('PutObjectAcl', () => {
  test('canned ACLs name the object\'s owner and the bucket\'s', async () => {
    const world = newWorld();
    const theirs = putVersion(world, 'theirs', { owner: OTHER });
    await putObjectAcl(fakeCall(world, { key: 'theirs', headers: { 'x-amz-acl': 'bucket-owner-full-control' } }).call);
    expect(theirs.acl).toEqual([FULL(OTHER), FULL(OWNER)]);
    await putObjectAcl(fakeCall(world, { key: 'theirs', headers: { 'x-amz-acl': 'public-read' } }).call);
    expect(theirs.acl).toEqual([FULL(OTHER), READ_ALL]);
  });

  test('a document must name the object\'s owner', async () => {
    const world = newWorld();
    const theirs = putVersion(world, 'theirs', { owner: OTHER });
    expect((await s3Failure(putObjectAcl(fakeCall(world, { key: 'theirs', body: policyBody(OWNER, '') }).call))).code).toBe('AccessDenied');
    await putObjectAcl(fakeCall(world, { key: 'theirs', body: policyBody(OTHER, groupGrant(ALL_USERS, 'READ')) }).call);
    expect(theirs.acl).toEqual([READ_ALL]);
  });

  test('log-delivery-write is a bucket ACL only', async () => {
    const world = newWorld();
    putVersion(world, 'k');
    expect(await s3Failure(putObjectAcl(fakeCall(world, { key: 'k', headers: { 'x-amz-acl': 'log-delivery-write' } }).call))).toMatchObject({
      code: 'InvalidArgument', fields: { ArgumentName: 'x-amz-acl', ArgumentValue: 'log-delivery-write' },
    });
  });

  test('BlockPublicAcls and BucketOwnerEnforced, as for buckets', async () => {
    const pab = { blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };
    const blocked = newWorld({ publicAccessBlock: pab });
    putVersion(blocked, 'k');
    expect((await s3Failure(putObjectAcl(fakeCall(blocked, { key: 'k', headers: { 'x-amz-acl': 'public-read-write' } }).call))).code).toBe('AccessDenied');
    const enforced = newWorld({ ownership: 'BucketOwnerEnforced' });
    const o = putVersion(enforced, 'k', { owner: OTHER });
    expect((await s3Failure(putObjectAcl(fakeCall(enforced, { key: 'k', headers: { 'x-amz-acl': 'public-read' }, caller: otherCaller }).call))).code).toBe(
      'AccessControlListNotSupported',
    );
    // The bucket owner owns the object now: `private` names it, and changes nothing.
    await putObjectAcl(fakeCall(enforced, { key: 'k', headers: { 'x-amz-acl': 'private' }, caller: otherCaller }).call);
    await putObjectAcl(fakeCall(enforced, { key: 'k', headers: { 'x-amz-acl': 'bucket-owner-full-control' } }).call);
    expect(o.acl).toBeUndefined();
  });

  test('a delete marker: NoSuchKey without a version id, MethodNotAllowed with one', async () => {
    const world = newWorld({ versioning: 'Enabled' });
    const v = '11111111-2222-3333-4444-555555555555';
    putVersion(world, 'gone', { deleteMarker: true, versionId: v });
    expect((await s3Failure(putObjectAcl(fakeCall(world, { key: 'gone', headers: { 'x-amz-acl': 'private' } }).call))).code).toBe('NoSuchKey');
    expect(
      await s3Failure(putObjectAcl(fakeCall(world, { key: 'gone', query: `versionId=${v}`, headers: { 'x-amz-acl': 'private' } }).call)),
    ).toMatchObject({ code: 'MethodNotAllowed', headers: { allow: 'DELETE' } });
  });

  test('the answer names the version in a versioned bucket', async () => {
    const world = newWorld({ versioning: 'Enabled' });
    const v = '11111111-2222-3333-4444-555555555555';
    putVersion(world, 'k', { versionId: v });
    const { call, sent } = fakeCall(world, { key: 'k', headers: { 'x-amz-acl': 'private' } });
    await putObjectAcl(call);
    expect(sent.headers).toEqual({ 'x-amz-version-id': v });
  });
});
