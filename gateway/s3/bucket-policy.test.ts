import { s3Failure } from '../protocol/errors.testing';
import { deleteBucketPolicy, getBucketPolicy, getBucketPolicyStatus, putBucketPolicy } from './bucket-policy';
import { PolicyError } from '../iam/policy';
import { fakeCall, newWorld, type World } from './bucket-call.testing';

const PUBLIC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}]}';
const PRIVATE = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam:::user/bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}]}';

/** A stand-in for policy.ts (tested on its own): valid when it starts with `{`, public when
 * it names `"*"` as principal. */
function policyWorld(fields = {}): World {
  const world = newWorld(fields);
  world.compile = (text) => {
    if (!text.startsWith('{')) throw new PolicyError("Policies must be valid JSON and the first byte must be '{'");
    return { isPublic: text.includes('"Principal":"*"') };
  };
  return world;
}

describe('Put/Get/DeleteBucketPolicy', () => {
  test('the text is stored and answered as given, application/json; 204 on put and delete', async () => {
    const world = policyWorld();
    const pretty = JSON.stringify(JSON.parse(PRIVATE), null, 2);
    const put = fakeCall(world, { body: pretty });
    await putBucketPolicy(put.call);
    expect(put.sent.status).toBe(204);
    const { call, sent } = fakeCall(world);
    await getBucketPolicy(call);
    expect(sent).toMatchObject({ status: 200, type: 'application/json', body: pretty });
    for (let i = 0; i < 2; i++) {
      const del = fakeCall(world);
      await deleteBucketPolicy(del.call);
      expect(del.sent.status).toBe(204);
    }
    expect(await s3Failure(getBucketPolicy(fakeCall(world).call))).toMatchObject({ code: 'NoSuchBucketPolicy', status: 404, fields: { BucketName: 'bkt' } });
  });

  test('a policy the compiler refuses is MalformedPolicy with its message; nothing stored', async () => {
    const world = policyWorld();
    expect(await s3Failure(putBucketPolicy(fakeCall(world, { body: 'not json' }).call))).toMatchObject({
      code: 'MalformedPolicy', status: 400, message: "Policies must be valid JSON and the first byte must be '{'",
    });
    expect(world.patches).toEqual([]);
  });

  test('bytes that are not UTF-8 are MalformedPolicy', async () => {
    expect((await s3Failure(putBucketPolicy(fakeCall(policyWorld(), { body: Buffer.from([0x7b, 0xff, 0x7d]) }).call))).code).toBe('MalformedPolicy');
  });

  test('a byte-order mark is kept: the first byte is not `{`', async () => {
    expect((await s3Failure(putBucketPolicy(fakeCall(policyWorld(), { body: `\uFEFF${PRIVATE}` }).call))).code).toBe('MalformedPolicy');
  });

  test('a body over 20 KB is refused as too large before it is parsed', async () => {
    const world = policyWorld();
    expect(await s3Failure(putBucketPolicy(fakeCall(world, { body: `{${' '.repeat(20 * 1024)}}` }).call))).toMatchObject({
      code: 'MalformedPolicy', message: 'Policy exceeds the maximum allowed document size.',
    });
    expect(world.patches).toEqual([]);
  });

  test('BlockPublicPolicy refuses a public policy, not a private one', async () => {
    const world = policyWorld({ publicAccessBlock: { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: true, restrictPublicBuckets: false } });
    expect(await s3Failure(putBucketPolicy(fakeCall(world, { body: PUBLIC }).call))).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(world.patches).toEqual([]);
    await putBucketPolicy(fakeCall(world, { body: PRIVATE }).call);
    expect(world.bucket.policy).toBe(PRIVATE);
  });
});

describe('GetBucketPolicyStatus', () => {
  test('IsPublic as the compiled policy says; no policy: NoSuchBucketPolicy', async () => {
    const world = policyWorld();
    expect((await s3Failure(getBucketPolicyStatus(fakeCall(world).call))).code).toBe('NoSuchBucketPolicy');
    for (const [policy, isPublic] of [[PUBLIC, 'true'], [PRIVATE, 'false']]) {
      world.bucket.policy = policy;
      const { call, sent } = fakeCall(world);
      await getBucketPolicyStatus(call);
      expect(sent.type).toBe('application/xml');
      expect(sent.body).toBe(`<?xml version="1.0" encoding="UTF-8"?>\n<PolicyStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsPublic>${isPublic}</IsPublic></PolicyStatus>`);
    }
  });
});
