import {
  CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand,
  ListBucketsCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { closeSuite, s3Client, s3Error, startTestServer, type TestServer } from '../harness';
import { createUser, setPolicies, type TestUser } from './users';

/**
 * Several users on one rfs, through @aws-sdk/client-s3 and raw HTTP: each user is an account
 * of its own (its buckets, its listing), reaches another's bucket only where a policy says
 * so, and an explicit Deny beats everything. Users and policies live in the metadata store
 * (PostgreSQL here, CockroachDB-compatible statements).
 */
let server: TestServer;
let root: S3Client;
let alice: TestUser;
let bob: TestUser;
let asAlice: S3Client;
let asBob: S3Client;

const A = 'alice-bucket';
const B = 'bob-bucket';

const body = async (r: { Body?: { transformToString(): Promise<string> } }) => r.Body!.transformToString();

beforeAll(async () => {
  server = await startTestServer();
  root = s3Client(server.url);
  alice = await createUser(server, 'alice');
  bob = await createUser(server, 'bob');
  asAlice = s3Client(server.url, alice);
  asBob = s3Client(server.url, bob);
  await asAlice.send(new CreateBucketCommand({ Bucket: A }));
  await asBob.send(new CreateBucketCommand({ Bucket: B }));
  for (const key of ['private/x', 'public/y', 'tmp/a', 'keep/b', 'home/alice/secret', 'home/bob/notes']) {
    await asAlice.send(new PutObjectCommand({ Bucket: A, Key: key, Body: `content of ${key}` }));
  }
});
afterAll(async () => {
  asAlice?.destroy();
  asBob?.destroy();
  await closeSuite({ server, s3: root });
});

describe('each user is an account of its own', () => {
  test("CreateBucket of another user's bucket is BucketAlreadyExists; of one's own, BucketAlreadyOwnedByYou (outside us-east-1)", async () => {
    expect(await s3Error(asBob.send(new CreateBucketCommand({ Bucket: A })))).toMatchObject({ name: 'BucketAlreadyExists', status: 409 });
    const again = new CreateBucketCommand({ Bucket: A, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } });
    expect(await s3Error(asAlice.send(again))).toMatchObject({ name: 'BucketAlreadyOwnedByYou', status: 409 });
  });

  test("ListBuckets lists the caller's buckets only, with the caller as Owner", async () => {
    const forAlice = await asAlice.send(new ListBucketsCommand({}));
    expect(forAlice.Buckets!.map((b) => b.Name)).toEqual([A]);
    expect(forAlice.Owner).toEqual({ ID: alice.id, DisplayName: 'alice' });
    expect((await asBob.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toEqual([B]);
    expect((await root.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
  });

  test("another user's bucket: every read and write is AccessDenied", async () => {
    for (const attempt of [
      () => asBob.send(new GetObjectCommand({ Bucket: A, Key: 'private/x' })),
      () => asBob.send(new PutObjectCommand({ Bucket: A, Key: 'bob-was-here', Body: 'x' })),
      () => asBob.send(new ListObjectsV2Command({ Bucket: A })),
      () => asBob.send(new DeleteObjectCommand({ Bucket: A, Key: 'private/x' })),
      () => asBob.send(new HeadBucketCommand({ Bucket: A })),
    ]) {
      expect(await s3Error(attempt())).toMatchObject({ status: 403 });
    }
    // Nothing was written or removed.
    const keys = (await asAlice.send(new ListObjectsV2Command({ Bucket: A }))).Contents!.map((o) => o.Key);
    expect(keys).toContain('private/x');
    expect(keys).not.toContain('bob-was-here');
  });

  test('root may do anything, in any bucket', async () => {
    expect(await body(await root.send(new GetObjectCommand({ Bucket: A, Key: 'private/x' })))).toBe('content of private/x');
  });

  test('a copy from a bucket the caller cannot read is refused, and nothing is written', async () => {
    const e = await s3Error(asBob.send(new CopyObjectCommand({ Bucket: B, Key: 'stolen', CopySource: `${A}/private/x` })));
    expect(e).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await s3Error(asBob.send(new GetObjectCommand({ Bucket: B, Key: 'stolen' })))).toMatchObject({ name: 'NoSuchKey' });
  });

  test('a presigned URL made by a user who cannot read the object is refused', async () => {
    const url = await getSignedUrl(asBob, new GetObjectCommand({ Bucket: A, Key: 'private/x' }), { expiresIn: 60 });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
  });

  test('anonymous requests are routed, then refused: AccessDenied, or NoSuchBucket where there is none', async () => {
    const res = await fetch(`${server.url}/${A}/private/x`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
    const missing = await fetch(`${server.url}/no-such-bucket-here/x`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('<Code>NoSuchBucket</Code>');
    const list = await fetch(`${server.url}/`);
    expect(list.status).toBe(403);
  });
});

describe('identity policies', () => {
  afterEach(() => setPolicies(server, 'bob', {}).then(() => setPolicies(server, 'alice', {})));

  test("an Allow reaches into another user's bucket, exactly as far as its Resource says", async () => {
    await setPolicies(server, 'bob', {
      'bob-reads-public': {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${A}/public/*` }],
      },
    });
    expect(await body(await asBob.send(new GetObjectCommand({ Bucket: A, Key: 'public/y' })))).toBe('content of public/y');
    expect(await s3Error(asBob.send(new GetObjectCommand({ Bucket: A, Key: 'private/x' })))).toMatchObject({ name: 'AccessDenied' });
    expect(await s3Error(asBob.send(new PutObjectCommand({ Bucket: A, Key: 'public/new', Body: 'x' })))).toMatchObject({ name: 'AccessDenied' });
  });

  test("an explicit Deny beats ownership: a user denied DeleteObject cannot delete in its own bucket", async () => {
    await setPolicies(server, 'alice', {
      'no-deletes': { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }] },
    });
    expect(await s3Error(asAlice.send(new DeleteObjectCommand({ Bucket: A, Key: 'keep/b' })))).toMatchObject({ name: 'AccessDenied' });
    // Everything not denied still works.
    expect(await body(await asAlice.send(new GetObjectCommand({ Bucket: A, Key: 'keep/b' })))).toBe('content of keep/b');
  });

  test('DeleteObjects authorizes each key: the refused ones are AccessDenied entries, the others go', async () => {
    await setPolicies(server, 'bob', {
      'bob-cleans-tmp': {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${A}/tmp/*` }],
      },
    });
    const r = await asBob.send(new DeleteObjectsCommand({ Bucket: A, Delete: { Objects: [{ Key: 'tmp/a' }, { Key: 'keep/b' }] } }));
    expect(r.Deleted!.map((d) => d.Key)).toEqual(['tmp/a']);
    expect(r.Errors).toEqual([expect.objectContaining({ Key: 'keep/b', Code: 'AccessDenied' })]);
    expect(await body(await asAlice.send(new GetObjectCommand({ Bucket: A, Key: 'keep/b' })))).toBe('content of keep/b');
    expect(await s3Error(asAlice.send(new GetObjectCommand({ Bucket: A, Key: 'tmp/a' })))).toMatchObject({ name: 'NoSuchKey' });
  });

  test('${aws:username} in a Resource: each user reaches its own home, not a look-alike or a dot-dot path', async () => {
    await setPolicies(server, 'bob', {
      'own-home': {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${A}/home/\${aws:username}/*` }],
      },
    });
    expect(await body(await asBob.send(new GetObjectCommand({ Bucket: A, Key: 'home/bob/notes' })))).toBe('content of home/bob/notes');
    expect(await s3Error(asBob.send(new GetObjectCommand({ Bucket: A, Key: 'home/alice/secret' })))).toMatchObject({ name: 'AccessDenied' });
    // Keys are literal: `home/bob/../alice/secret` is a key of its own under home/bob/, never
    // the object home/alice/secret.
    const dotted = await s3Error(asBob.send(new GetObjectCommand({ Bucket: A, Key: 'home/bob/../alice/secret' })));
    expect(dotted).toMatchObject({ name: 'NoSuchKey' });
    // A Unicode look-alike of "bob" (fullwidth b) is another user's path.
    expect(await s3Error(asBob.send(new PutObjectCommand({ Bucket: A, Key: 'home/\uff42ob/x', Body: 'x' })))).toMatchObject({ name: 'AccessDenied' });
  });

  test('a disabled user, and an inactive key, can no longer sign requests', async () => {
    const carol = await createUser(server, 'carol');
    const asCarol = s3Client(server.url, carol);
    await asCarol.send(new ListBucketsCommand({}));
    const { meta, iam } = server.rfs!.services;
    await meta.iam.setKeyStatus(carol.accessKeyId, 'Inactive');
    await iam.iamChanged();
    expect(await s3Error(asCarol.send(new ListBucketsCommand({})))).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
    await meta.iam.setKeyStatus(carol.accessKeyId, 'Active');
    await meta.iam.updateUser('carol', { disabled: true });
    await iam.iamChanged();
    expect(await s3Error(asCarol.send(new ListBucketsCommand({})))).toMatchObject({ status: 403 });
    asCarol.destroy();
  });
});
