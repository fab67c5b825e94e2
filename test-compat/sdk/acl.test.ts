import {
  CreateBucketCommand,
  DeleteBucketOwnershipControlsCommand,
  GetBucketAclCommand,
  GetBucketOwnershipControlsCommand,
  GetObjectAclCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  S3Client,
  type Grant,
} from '@aws-sdk/client-s3';
import { ROOT_OWNER } from '../../gateway/app';
import { closeSuite, openSuite, s3Error, type TestServer } from '../harness';
import { anonymous, errorCode, newAccount, rootRequest, type Account } from './accounts';

/**
 * Bucket and object ACLs and S3 Object Ownership through @aws-sdk/client-s3 against a real
 * server: the grants S3 stores for each form of ACL, what they let other accounts and
 * anonymous callers do, and S3's errors. Access is decided by the gateway's authorize().
 */
let server: TestServer;
let s3: S3Client;
let alice: Account;
const bucket = 'sdk-acl';
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

beforeAll(async () => {
  ({ server, s3 } = await openSuite(bucket));
  alice = await newAccount(server, 'acl-alice');
});
afterAll(async () => {
  alice?.s3.destroy();
  await closeSuite({ server, s3 });
});

/** Grants as comparable values: who, and what. */
function grantsOf(grants: Grant[] | undefined): string[] {
  return (grants ?? []).map((g) => `${g.Grantee?.Type === 'Group' ? g.Grantee.URI : g.Grantee?.ID} ${g.Permission}`);
}

async function newBucket(name: string): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

describe('GetBucketAcl / PutBucketAcl', () => {
  test('BucketAcl_default: the owner alone, with FULL_CONTROL and its display name', async () => {
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: bucket }));
    expect(acl.Owner).toEqual({ ID: ROOT_OWNER, DisplayName: 'root' });
    expect(acl.Grants).toEqual([{ Grantee: { Type: 'CanonicalUser', ID: ROOT_OWNER, DisplayName: 'root' }, Permission: 'FULL_CONTROL' }]);
  });

  test('PutBucketAcl_publicRead: the canned grants, and anonymous listing works until private again', async () => {
    const b = await newBucket('sdk-acl-public-read');
    expect((await anonymous(server, 'GET', `/${b}`)).status).toBe(403);
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
    expect(grantsOf((await s3.send(new GetBucketAclCommand({ Bucket: b }))).Grants)).toEqual([`${ROOT_OWNER} FULL_CONTROL`, `${ALL_USERS} READ`]);
    const listing = await anonymous(server, 'GET', `/${b}?list-type=2`);
    expect(listing.status).toBe(200);
    expect(listing.body).toContain('<ListBucketResult');
    // READ on a bucket lists it; it does not read the ACL.
    expect((await anonymous(server, 'GET', `/${b}?acl`)).status).toBe(403);
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
    expect((await anonymous(server, 'GET', `/${b}`)).status).toBe(403);
  });

  test('PutBucketAcl_authenticatedRead: any signed caller lists, anonymous ones do not', async () => {
    const b = await newBucket('sdk-acl-auth-read');
    await expect(alice.s3.send(new ListObjectsV2Command({ Bucket: b }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'authenticated-read' }));
    expect((await alice.s3.send(new ListObjectsV2Command({ Bucket: b }))).KeyCount).toBe(0);
    expect((await anonymous(server, 'GET', `/${b}`)).status).toBe(403);
  });

  test('PutBucketAcl_grantHeaders: exactly the grants given; WRITE lets another account upload', async () => {
    const b = await newBucket('sdk-acl-grants');
    await s3.send(new PutBucketAclCommand({ Bucket: b, GrantWrite: `id="${alice.id}"`, GrantFullControl: `id="${ROOT_OWNER}"`, GrantReadACP: `uri="${AUTHENTICATED_USERS}"` }));
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: b }));
    expect(grantsOf(acl.Grants)).toEqual([`${alice.id} WRITE`, `${AUTHENTICATED_USERS} READ_ACP`, `${ROOT_OWNER} FULL_CONTROL`]);
    expect(acl.Grants?.[0].Grantee?.DisplayName).toBe('acl-alice');
    await alice.s3.send(new PutObjectCommand({ Bucket: b, Key: 'from-alice', Body: 'hi' }));
    // Alice wrote it, so she owns it (ObjectWriter); the bucket owner gets nothing on it.
    expect((await alice.s3.send(new GetObjectAclCommand({ Bucket: b, Key: 'from-alice' }))).Owner?.ID).toBe(alice.id);
    expect(await alice.s3.send(new GetBucketAclCommand({ Bucket: b }))).toMatchObject({ Owner: { ID: ROOT_OWNER } });
  });

  test('PutBucketAcl_document: an AccessControlPolicy, read back as written; an empty list revokes all but the owner\'s ACP rights', async () => {
    const b = await newBucket('sdk-acl-document');
    const Owner = { ID: ROOT_OWNER };
    await s3.send(new PutBucketAclCommand({
      Bucket: b,
      AccessControlPolicy: { Owner, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: alice.id }, Permission: 'READ' }, { Grantee: { Type: 'Group', URI: ALL_USERS }, Permission: 'READ_ACP' }] },
    }));
    expect(grantsOf((await s3.send(new GetBucketAclCommand({ Bucket: b }))).Grants)).toEqual([`${alice.id} READ`, `${ALL_USERS} READ_ACP`]);
    expect((await anonymous(server, 'GET', `/${b}?acl`)).status).toBe(200);
    await s3.send(new PutBucketAclCommand({ Bucket: b, AccessControlPolicy: { Owner, Grants: [] } }));
    expect((await s3.send(new GetBucketAclCommand({ Bucket: b }))).Grants ?? []).toEqual([]);
  });

  test('PutBucketAcl_errors: S3\'s codes for each wrong ACL, and nothing changes', async () => {
    const b = await newBucket('sdk-acl-errors');
    expect(await s3Error(s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public' as never })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await s3Error(s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private', GrantRead: `id="${alice.id}"` })))).toMatchObject({
      name: 'InvalidRequest', message: 'Specifying both Canned ACLs and Header Grants is not allowed',
    });
    expect(await s3Error(s3.send(new PutBucketAclCommand({ Bucket: b, GrantRead: `id="${'e'.repeat(64)}"` })))).toMatchObject({ name: 'InvalidArgument', message: 'Invalid id' });
    expect(await s3Error(s3.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'uri="http://acs.amazonaws.com/groups/global/Nobody"' })))).toMatchObject({
      name: 'InvalidArgument', message: 'Invalid group uri',
    });
    expect(await s3Error(s3.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'emailAddress="someone@example.com"' })))).toMatchObject({
      name: 'UnresolvableGrantByEmailAddress', status: 400,
    });
    expect(await s3Error(s3.send(new PutBucketAclCommand({ Bucket: b, AccessControlPolicy: { Owner: { ID: alice.id }, Grants: [] } })))).toMatchObject({
      name: 'AccessDenied', status: 403,
    });
    const malformed = await rootRequest(server, 'PUT', `/${b}`, { acl: '' }, '<AccessControlPolicy><Owner><ID>x');
    expect({ status: malformed.status, ...errorCode(malformed.body) }).toMatchObject({ status: 400, code: 'MalformedACLError' });
    const missing = await rootRequest(server, 'PUT', `/${b}`, { acl: '' }, '');
    expect({ status: missing.status, ...errorCode(missing.body) }).toMatchObject({ status: 400, code: 'MissingSecurityHeader' });
    expect((await s3.send(new GetBucketAclCommand({ Bucket: b }))).Grants).toHaveLength(1);
  });

  test('PutBucketAcl_otherAccount: refused without WRITE_ACP, allowed with it', async () => {
    const b = await newBucket('sdk-acl-write-acp');
    expect((await s3Error(alice.s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })))).name).toBe('AccessDenied');
    await s3.send(new PutBucketAclCommand({ Bucket: b, GrantWriteACP: `id="${alice.id}"`, GrantFullControl: `id="${ROOT_OWNER}"` }));
    await alice.s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
    expect(grantsOf((await s3.send(new GetBucketAclCommand({ Bucket: b }))).Grants)).toEqual([`${ROOT_OWNER} FULL_CONTROL`, `${ALL_USERS} READ`]);
  });
});

describe('GetObjectAcl / PutObjectAcl', () => {
  test('ObjectAcl_publicRead: anonymous GET works once the object is public-read', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'pub', Body: 'public bytes' }));
    expect((await anonymous(server, 'GET', `/${bucket}/pub`)).status).toBe(403);
    await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'pub', ACL: 'public-read' }));
    expect(await anonymous(server, 'GET', `/${bucket}/pub`)).toEqual({ status: 200, body: 'public bytes' });
    expect(grantsOf((await s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'pub' }))).Grants)).toEqual([`${ROOT_OWNER} FULL_CONTROL`, `${ALL_USERS} READ`]);
  });

  test('PutObject_aclHeader: the canned ACL of the upload applies', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'born-public', Body: 'x', ACL: 'public-read' }));
    expect((await anonymous(server, 'GET', `/${bucket}/born-public`)).status).toBe(200);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'granted', Body: 'y', GrantRead: `id="${alice.id}"` }));
    expect(grantsOf((await s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'granted' }))).Grants)).toEqual([`${alice.id} READ`]);
  });

  test('ObjectAcl_errors: NoSuchKey, and a document naming another owner', async () => {
    expect((await s3Error(s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'no-such-key' })))).name).toBe('NoSuchKey');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'owned', Body: 'z' }));
    expect(await s3Error(s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'owned', AccessControlPolicy: { Owner: { ID: alice.id }, Grants: [] } })))).toMatchObject({
      name: 'AccessDenied',
    });
  });
});

describe('Object Ownership', () => {
  test('OwnershipControls_roundTrip: none, each setting, deleted', async () => {
    const b = await newBucket('sdk-acl-ownership');
    expect(await s3Error(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b })))).toMatchObject({ name: 'OwnershipControlsNotFoundError', status: 404 });
    for (const ObjectOwnership of ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced'] as const) {
      await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership }] } }));
      expect((await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules).toEqual([{ ObjectOwnership }]);
    }
    await s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: b }));
    expect((await s3Error(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b })))).name).toBe('OwnershipControlsNotFoundError');
  });

  test('OwnershipControls_enforcedNeedsPrivateAcl: InvalidBucketAclWithObjectOwnership while the bucket ACL grants to others', async () => {
    const b = await newBucket('sdk-acl-enforce');
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
    expect(await s3Error(s3.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } })))).toMatchObject({
      name: 'InvalidBucketAclWithObjectOwnership', status: 400,
    });
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }));
  });

  test('BucketOwnerEnforced_refusesAcls: AccessControlListNotSupported for ACLs that grant, bucket-owner-full-control passes', async () => {
    const b = await newBucket('sdk-acl-enforced');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'before', Body: 'x', ACL: 'public-read' }));
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }));
    const notSupported = { name: 'AccessControlListNotSupported', status: 400, message: 'The bucket does not allow ACLs' };
    expect(await s3Error(s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })))).toMatchObject(notSupported);
    expect(await s3Error(s3.send(new PutObjectAclCommand({ Bucket: b, Key: 'before', ACL: 'public-read' })))).toMatchObject(notSupported);
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'public-read' })))).toMatchObject(notSupported);
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'bucket-owner-full-control' }));
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
    // ACLs no longer apply: the object that was public-read is not readable anonymously, and
    // reading its ACL shows the bucket owner's FULL_CONTROL.
    expect((await anonymous(server, 'GET', `/${b}/before`)).status).toBe(403);
    expect(grantsOf((await s3.send(new GetObjectAclCommand({ Bucket: b, Key: 'before' }))).Grants)).toEqual([`${ROOT_OWNER} FULL_CONTROL`]);
    expect(grantsOf((await s3.send(new GetBucketAclCommand({ Bucket: b }))).Grants)).toEqual([`${ROOT_OWNER} FULL_CONTROL`]);
  });

  test('BucketOwnerPreferred: an upload with bucket-owner-full-control belongs to the bucket owner', async () => {
    const b = await newBucket('sdk-acl-preferred');
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } }));
    await s3.send(new PutBucketAclCommand({ Bucket: b, GrantWrite: `id="${alice.id}"`, GrantFullControl: `id="${ROOT_OWNER}"` }));
    await alice.s3.send(new PutObjectCommand({ Bucket: b, Key: 'handed-over', Body: 'x', ACL: 'bucket-owner-full-control' }));
    await alice.s3.send(new PutObjectCommand({ Bucket: b, Key: 'kept', Body: 'x' }));
    expect((await s3.send(new GetObjectAclCommand({ Bucket: b, Key: 'handed-over' }))).Owner?.ID).toBe(ROOT_OWNER);
    expect((await alice.s3.send(new GetObjectAclCommand({ Bucket: b, Key: 'kept' }))).Owner?.ID).toBe(alice.id);
  });

  test('CreateBucket_access: ACL and ownership headers at creation', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-acl-created-public', ACL: 'public-read' }));
    expect(grantsOf((await s3.send(new GetBucketAclCommand({ Bucket: 'sdk-acl-created-public' }))).Grants)).toEqual([`${ROOT_OWNER} FULL_CONTROL`, `${ALL_USERS} READ`]);
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-acl-created-enforced', ObjectOwnership: 'BucketOwnerEnforced' }));
    expect((await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'sdk-acl-created-enforced' }))).OwnershipControls?.Rules).toEqual([
      { ObjectOwnership: 'BucketOwnerEnforced' },
    ]);
    expect(await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'sdk-acl-created-bad', ACL: 'public-read', ObjectOwnership: 'BucketOwnerEnforced' })))).toMatchObject({
      name: 'InvalidBucketAclWithObjectOwnership', status: 400,
    });
    expect(await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'sdk-acl-created-bad', ObjectOwnership: 'Mine' as never })))).toMatchObject({
      name: 'InvalidArgument', message: 'Invalid x-amz-object-ownership header: Mine',
    });
  });
});
