import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetPublicAccessBlockCommand,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type PublicAccessBlockConfiguration,
} from '@aws-sdk/client-s3';
import { closeSuite, openSuite, s3Error, type TestServer } from '../harness';
import { anonymous, errorCode, rootRequest } from './accounts';

/**
 * Bucket policies, their public status, and Block Public Access, through @aws-sdk/client-s3
 * against a real server, with S3's answers: MalformedPolicy with the reason, a public policy
 * refused under BlockPublicPolicy, public ACLs refused (BlockPublicAcls) or ignored
 * (IgnorePublicAcls), public policies confined to the owner (RestrictPublicBuckets).
 */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-public-access';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

const publicRead = (b: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }] });
const userRead = (b: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam:::user/someone' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }] });
const block = (settings: PublicAccessBlockConfiguration) => ({
  BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false, ...settings,
});

async function newBucket(name: string): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

describe('bucket policy', () => {
  test('BucketPolicy_roundTrip: stored and answered as given; public means anonymous reads', async () => {
    const b = await newBucket('sdk-pa-policy');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'shared' }));
    expect(await s3Error(s3.send(new GetBucketPolicyCommand({ Bucket: b })))).toMatchObject({ name: 'NoSuchBucketPolicy', status: 404 });
    expect((await anonymous(server, 'GET', `/${b}/doc`)).status).toBe(403);
    const pretty = JSON.stringify(JSON.parse(publicRead(b)), null, 2);
    const put = await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: pretty }));
    expect(put.$metadata.httpStatusCode).toBe(204);
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: b }))).Policy).toBe(pretty);
    expect(await anonymous(server, 'GET', `/${b}/doc`)).toEqual({ status: 200, body: 'shared' });
    // The policy names objects only: listing stays the owner's.
    expect((await anonymous(server, 'GET', `/${b}`)).status).toBe(403);
    expect((await s3.send(new DeleteBucketPolicyCommand({ Bucket: b }))).$metadata.httpStatusCode).toBe(204);
    expect((await s3.send(new DeleteBucketPolicyCommand({ Bucket: b }))).$metadata.httpStatusCode).toBe(204);
    expect((await anonymous(server, 'GET', `/${b}/doc`)).status).toBe(403);
    expect((await s3Error(s3.send(new GetBucketPolicyCommand({ Bucket: b })))).name).toBe('NoSuchBucketPolicy');
  });

  test('PutBucketPolicy_malformed: MalformedPolicy with S3\'s reason, nothing stored', async () => {
    const b = await newBucket('sdk-pa-malformed');
    expect(await s3Error(s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: 'not json' })))).toMatchObject({
      name: 'MalformedPolicy', status: 400, message: "Policies must be valid JSON and the first byte must be '{'",
    });
    const noStatement = JSON.stringify({ Version: '2012-10-17' });
    const e = await s3Error(s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: noStatement })));
    expect(e).toMatchObject({ name: 'MalformedPolicy', status: 400 });
    expect(e.message).not.toBe('');
    const otherBucket = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::another-bucket/*' }] });
    expect(await s3Error(s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: otherBucket })))).toMatchObject({
      name: 'MalformedPolicy', message: 'Policy has invalid resource',
    });
    expect((await s3Error(s3.send(new GetBucketPolicyCommand({ Bucket: b })))).name).toBe('NoSuchBucketPolicy');
  });

  test('PutBucketPolicy_tooLarge: over 20 KB is refused', async () => {
    const b = await newBucket('sdk-pa-large');
    const statements = Array.from({ length: 200 }, (_, i) => ({ Sid: `S${i}`, Effect: 'Allow', Principal: { AWS: 'arn:aws:iam:::user/someone' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/${'x'.repeat(80)}${i}` }));
    expect(await s3Error(s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) })))).toMatchObject({
      name: 'MalformedPolicy', status: 400,
    });
  });

  test('GetBucketPolicyStatus: IsPublic for a policy granting everyone, not for one naming a user', async () => {
    const b = await newBucket('sdk-pa-status');
    expect((await s3Error(s3.send(new GetBucketPolicyStatusCommand({ Bucket: b })))).name).toBe('NoSuchBucketPolicy');
    await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: publicRead(b) }));
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus).toEqual({ IsPublic: true });
    await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: userRead(b) }));
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus).toEqual({ IsPublic: false });
  });
});

describe('Block Public Access', () => {
  test('PublicAccessBlock_roundTrip: none, set, read back, deleted', async () => {
    const b = await newBucket('sdk-pa-config');
    expect(await s3Error(s3.send(new GetPublicAccessBlockCommand({ Bucket: b })))).toMatchObject({ name: 'NoSuchPublicAccessBlockConfiguration', status: 404 });
    const config = block({ BlockPublicAcls: true, RestrictPublicBuckets: true });
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: config }));
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: b }))).PublicAccessBlockConfiguration).toEqual(config);
    expect((await s3.send(new DeletePublicAccessBlockCommand({ Bucket: b }))).$metadata.httpStatusCode).toBe(204);
    expect((await s3Error(s3.send(new GetPublicAccessBlockCommand({ Bucket: b })))).name).toBe('NoSuchPublicAccessBlockConfiguration');
    const bad = await rootRequest(server, 'PUT', `/${b}`, { publicAccessBlock: '' }, '<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls></PublicAccessBlockConfiguration>');
    expect({ status: bad.status, ...errorCode(bad.body) }).toMatchObject({ status: 400, code: 'MalformedXML' });
  });

  test('BlockPublicAcls: public ACLs refused with AccessDenied, private ones accepted', async () => {
    const b = await newBucket('sdk-pa-block-acls');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: block({ BlockPublicAcls: true }) }));
    for (const refused of [
      () => s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })),
      () => s3.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"' })),
      () => s3.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'public-read' })),
      () => s3.send(new PutObjectCommand({ Bucket: b, Key: 'k2', Body: 'x', ACL: 'public-read-write' })),
    ]) {
      expect(await s3Error(refused())).toMatchObject({ name: 'AccessDenied', status: 403 });
    }
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k3', Body: 'x', ACL: 'private' }));
  });

  test('IgnorePublicAcls: a public ACL in place stops granting, and grants again once lifted', async () => {
    const b = await newBucket('sdk-pa-ignore-acls');
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'open', Body: 'open bytes', ACL: 'public-read' }));
    expect((await anonymous(server, 'GET', `/${b}/open`)).status).toBe(200);
    expect((await anonymous(server, 'GET', `/${b}`)).status).toBe(200);
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: block({ IgnorePublicAcls: true }) }));
    expect((await anonymous(server, 'GET', `/${b}/open`)).status).toBe(403);
    expect((await anonymous(server, 'GET', `/${b}`)).status).toBe(403);
    // Ignored, not refused: a public ACL can still be set.
    await s3.send(new PutObjectAclCommand({ Bucket: b, Key: 'open', ACL: 'public-read' }));
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: b }));
    expect(await anonymous(server, 'GET', `/${b}/open`)).toEqual({ status: 200, body: 'open bytes' });
  });

  test('BlockPublicPolicy: a public policy is refused with AccessDenied; one in place stays', async () => {
    const b = await newBucket('sdk-pa-block-policy');
    await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: publicRead(b) }));
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: block({ BlockPublicPolicy: true }) }));
    expect(await s3Error(s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: publicRead(b) })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: b }))).Policy).toBe(publicRead(b));
    await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: userRead(b) }));
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic).toBe(false);
  });

  test('RestrictPublicBuckets: a public policy in place grants only the owner', async () => {
    const b = await newBucket('sdk-pa-restrict');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'x' }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: publicRead(b) }));
    expect((await anonymous(server, 'GET', `/${b}/doc`)).status).toBe(200);
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: block({ RestrictPublicBuckets: true }) }));
    expect((await anonymous(server, 'GET', `/${b}/doc`)).status).toBe(403);
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic).toBe(true);
  });
});

test('the suite\'s own bucket stays private', async () => {
  expect((await anonymous(server, 'GET', `/${bucket}`)).status).toBe(403);
});
