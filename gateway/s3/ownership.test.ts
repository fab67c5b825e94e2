import { s3Failure } from '../protocol/errors.testing';
import { ALL_USERS, cannedAcl } from '../iam/acl';
import { createBucketAccess, deleteBucketOwnershipControls, getBucketOwnershipControls, newObjectAcl, putBucketOwnershipControls } from './ownership';
import { OTHER, OWNER, fakeCall, newWorld } from './bucket-call.testing';

const controls = (ownership: string) => `<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>${ownership}</ObjectOwnership></Rule></OwnershipControls>`;
const FULL = (id: string) => ({ grantee: { type: 'CanonicalUser' as const, id }, permission: 'FULL_CONTROL' as const });
const READ_ALL = { grantee: { type: 'Group' as const, uri: ALL_USERS }, permission: 'READ' as const };
const BLOCK_ACLS = { blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };

describe('Put/Get/DeleteBucketOwnershipControls', () => {
  test('round trip of each setting, then delete (idempotent)', async () => {
    const world = newWorld();
    for (const ownership of ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced']) {
      await putBucketOwnershipControls(fakeCall(world, { body: controls(ownership) }).call);
      const { call, sent } = fakeCall(world);
      await getBucketOwnershipControls(call);
      expect(sent.body).toBe(`<?xml version="1.0" encoding="UTF-8"?>\n${controls(ownership)}`);
    }
    for (let i = 0; i < 2; i++) {
      const { call, sent } = fakeCall(world);
      await deleteBucketOwnershipControls(call);
      expect(sent.status).toBe(204);
    }
    expect(await s3Failure(getBucketOwnershipControls(fakeCall(world).call))).toMatchObject({
      code: 'OwnershipControlsNotFoundError', status: 404, fields: { BucketName: 'bkt' },
    });
  });

  test.each([
    ['empty', ''],
    ['not XML', 'nope'],
    ['unknown setting', controls('Everyone')],
    ['no rule', '<OwnershipControls/>'],
    ['two rules', '<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>'],
    ['extra element', '<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership><Other/></Rule></OwnershipControls>'],
    ['another root', '<Ownership><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></Ownership>'],
  ])('%s: MalformedXML', async (_what, body) => {
    expect((await s3Failure(putBucketOwnershipControls(fakeCall(newWorld(), { body }).call))).code).toBe('MalformedXML');
  });

  test('ACLs cannot be disabled while the bucket ACL grants to others', async () => {
    const world = newWorld({ acl: [FULL(OWNER), READ_ALL] });
    expect(await s3Failure(putBucketOwnershipControls(fakeCall(world, { body: controls('BucketOwnerEnforced') }).call))).toMatchObject({
      code: 'InvalidBucketAclWithObjectOwnership', status: 400,
    });
    await putBucketOwnershipControls(fakeCall(world, { body: controls('BucketOwnerPreferred') }).call);
    world.bucket.acl = [FULL(OWNER)];
    await putBucketOwnershipControls(fakeCall(world, { body: controls('BucketOwnerEnforced') }).call);
    expect(world.bucket.ownership).toBe('BucketOwnerEnforced');
  });
});

describe('newObjectAcl: owner and ACL of an object being written', () => {
  test('ObjectWriter (the default): the writer owns it, with the ACL asked for; no header, no ACL', async () => {
    const world = newWorld();
    const { call } = fakeCall(world, { headers: {} });
    expect(await newObjectAcl(call, world.bucket, OTHER)).toEqual({ owner: OTHER, acl: undefined });
    expect(await newObjectAcl(call, world.bucket, OTHER, { 'x-amz-acl': 'private' })).toEqual({ owner: OTHER, acl: undefined });
    expect(await newObjectAcl(call, world.bucket, OTHER, { 'x-amz-acl': 'bucket-owner-full-control' })).toEqual({ owner: OTHER, acl: [FULL(OTHER), FULL(OWNER)] });
    expect(await newObjectAcl(call, world.bucket, OWNER, { 'x-amz-acl': 'public-read' })).toEqual({ owner: OWNER, acl: [FULL(OWNER), READ_ALL] });
  });

  test('the request\'s own headers are read by default', async () => {
    const world = newWorld();
    const { call } = fakeCall(world, { headers: { 'x-amz-grant-read': `uri="${ALL_USERS}"` } });
    expect(await newObjectAcl(call, world.bucket, OWNER)).toEqual({ owner: OWNER, acl: [READ_ALL] });
  });

  test('BucketOwnerPreferred: bucket-owner-full-control hands the object to the bucket owner', async () => {
    const world = newWorld({ ownership: 'BucketOwnerPreferred' });
    const { call } = fakeCall(world);
    expect(await newObjectAcl(call, world.bucket, OTHER, { 'x-amz-acl': 'bucket-owner-full-control' })).toEqual({ owner: OWNER, acl: [FULL(OTHER), FULL(OWNER)] });
    expect(await newObjectAcl(call, world.bucket, OTHER, { 'x-amz-acl': 'private' })).toEqual({ owner: OTHER, acl: undefined });
    expect(await newObjectAcl(call, world.bucket, OTHER)).toEqual({ owner: OTHER, acl: undefined });
  });

  test('BucketOwnerEnforced: the bucket owner owns it; only bucket-owner-full-control (or an ACL to the same effect) passes', async () => {
    const world = newWorld({ ownership: 'BucketOwnerEnforced' });
    const { call } = fakeCall(world);
    expect(await newObjectAcl(call, world.bucket, OTHER)).toEqual({ owner: OWNER, acl: undefined });
    expect(await newObjectAcl(call, world.bucket, OTHER, { 'x-amz-acl': 'bucket-owner-full-control' })).toEqual({ owner: OWNER, acl: undefined });
    expect(await newObjectAcl(call, world.bucket, OWNER, { 'x-amz-acl': 'private' })).toEqual({ owner: OWNER, acl: undefined });
    for (const headers of [{ 'x-amz-acl': 'public-read' }, { 'x-amz-acl': 'private' }, { 'x-amz-grant-read': `id="${OWNER}"` }]) {
      expect((await s3Failure(newObjectAcl(call, world.bucket, OTHER, headers))).code).toBe('AccessControlListNotSupported');
    }
  });

  test('BlockPublicAcls refuses a public ACL; bad ACL headers get their own errors', async () => {
    const world = newWorld({ publicAccessBlock: BLOCK_ACLS });
    const { call } = fakeCall(world);
    expect((await s3Failure(newObjectAcl(call, world.bucket, OWNER, { 'x-amz-acl': 'authenticated-read' }))).code).toBe('AccessDenied');
    expect(await newObjectAcl(call, world.bucket, OWNER, { 'x-amz-acl': 'bucket-owner-read' })).toEqual({ owner: OWNER, acl: undefined });
    expect((await s3Failure(newObjectAcl(call, world.bucket, OWNER, { 'x-amz-acl': 'nope' }))).code).toBe('InvalidArgument');
    expect((await s3Failure(newObjectAcl(call, world.bucket, OWNER, { 'x-amz-grant-read': `id="${'f'.repeat(64)}"` }))).message).toBe('Invalid id');
  });
});

describe('createBucketAccess', () => {
  const access = (headers: Record<string, string>) => createBucketAccess(fakeCall(newWorld(), { headers }).call, OWNER);

  test('nothing asked: no ACL, no ownership setting', async () => {
    expect(await access({})).toEqual({ acl: undefined, ownership: undefined });
  });

  test('an ACL and a setting', async () => {
    expect(await access({ 'x-amz-acl': 'public-read', 'x-amz-object-ownership': 'ObjectWriter' })).toEqual({
      acl: cannedAcl('public-read', { owner: OWNER, bucketOwner: OWNER }), ownership: 'ObjectWriter',
    });
    expect(await access({ 'x-amz-grant-write': `id="${OTHER}"` })).toEqual({
      acl: [{ grantee: { type: 'CanonicalUser', id: OTHER }, permission: 'WRITE' }], ownership: undefined,
    });
    expect(await access({ 'x-amz-acl': 'private', 'x-amz-object-ownership': 'BucketOwnerEnforced' })).toEqual({ acl: undefined, ownership: 'BucketOwnerEnforced' });
  });

  test('an unknown setting: InvalidArgument naming the header', async () => {
    expect(await s3Failure(access({ 'x-amz-object-ownership': 'Mine' }))).toMatchObject({
      code: 'InvalidArgument', message: 'Invalid x-amz-object-ownership header: Mine', fields: { ArgumentName: 'x-amz-object-ownership' },
    });
  });

  test('an ACL granting to others with BucketOwnerEnforced: InvalidBucketAclWithObjectOwnership', async () => {
    for (const headers of <Record<string, string>[]>[{ 'x-amz-acl': 'public-read' }, { 'x-amz-grant-read': `id="${OTHER}"` }, { 'x-amz-acl': 'log-delivery-write' }]) {
      expect((await s3Failure(access({ ...headers, 'x-amz-object-ownership': 'BucketOwnerEnforced' }))).code).toBe('InvalidBucketAclWithObjectOwnership');
    }
  });
});
