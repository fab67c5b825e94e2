import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand,
  DeleteObjectCommand, DeleteObjectsCommand, GetBucketVersioningCommand, GetObjectCommand, GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand, GetObjectRetentionCommand, HeadObjectCommand, PutBucketVersioningCommand,
  PutObjectCommand, PutObjectLegalHoldCommand, PutObjectLockConfigurationCommand, PutObjectRetentionCommand, S3Client,
  UploadPartCommand, type ObjectLockRetentionMode,
} from '@aws-sdk/client-s3';
import { type TestServer, closeSuite, s3Client, s3Error, startTestServer } from '../harness';
import { errorCode, rootRequest } from './accounts';
import { createUser } from '../iam/users';

/**
 * Object lock (WORM) through @aws-sdk/client-s3, and raw signed requests for documents the SDK
 * would not send: the bucket configuration, retention and legal hold of versions, the lock
 * headers of writes, and the refusal of every delete that would remove a locked version.
 */
let server: TestServer;
let s3: S3Client;
const locked = 'sdk-lock';
const plain = 'sdk-lock-plain';

beforeAll(async () => {
  server = await startTestServer();
  s3 = s3Client(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: locked, ObjectLockEnabledForBucket: true }));
  await s3.send(new CreateBucketCommand({ Bucket: plain }));
  await s3.send(new CreateBucketCommand({ Bucket: 'sdk-lock-refusals', ObjectLockEnabledForBucket: true }));
});
afterAll(() => closeSuite({ server, s3 }));

/** A whole second `n` days from the suite's start: the same instant however often it is asked for. */
const START = Math.floor(Date.now() / 1000) * 1000;
const days = (n: number) => new Date(START + n * 86_400_000);
const put = async (Key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}, Bucket = locked) =>
  (await s3.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}`, ...extra }))).VersionId!;
const read = async (Key: string, VersionId?: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: locked, Key, VersionId }))).Body!.transformToString();
const setRetention = (Key: string, Mode: ObjectLockRetentionMode, RetainUntilDate: Date, extra: { VersionId?: string; BypassGovernanceRetention?: boolean } = {}, client = s3) =>
  client.send(new PutObjectRetentionCommand({ Bucket: locked, Key, Retention: { Mode, RetainUntilDate }, ...extra }));
const retention = async (Key: string, VersionId?: string) => (await s3.send(new GetObjectRetentionCommand({ Bucket: locked, Key, VersionId }))).Retention;
const deleteVersion = (Key: string, VersionId: string, BypassGovernanceRetention?: boolean, client = s3) =>
  client.send(new DeleteObjectCommand({ Bucket: locked, Key, VersionId, BypassGovernanceRetention }));

/** A raw PUT of an XML document (Content-MD5 as S3 requires), answered status and S3 code. */
async function putXml(path: string, query: Record<string, string>, xml: string, headers: Record<string, string> = {}) {
  const a = await rootRequest(server, 'PUT', path, query, xml, { 'content-md5': createHash('md5').update(xml).digest('base64'), ...headers });
  return [a.status, errorCode(a.body).code];
}

describe('the bucket', () => {
  test('CreateBucket_objectLockEnabled: versioning Enabled, lock enabled without a rule; versioning cannot be suspended (409 InvalidBucketState)', async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: locked }))).Status).toBe('Enabled');
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: locked }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
    const suspend = s3.send(new PutBucketVersioningCommand({ Bucket: locked, VersioningConfiguration: { Status: 'Suspended' } }));
    expect(await s3Error(suspend)).toMatchObject({ name: 'InvalidBucketState', status: 409 });
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: locked }))).Status).toBe('Enabled');
  });

  test('ObjectLockConfiguration_none: 404 ObjectLockConfigurationNotFoundError; enabling needs versioning Enabled (409 InvalidBucketState), then works', async () => {
    const bucket = 'sdk-lock-later';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    expect(await s3Error(s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })))).toMatchObject({ name: 'ObjectLockConfigurationNotFoundError', status: 404 });
    const enable = () => s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
    expect(await s3Error(enable())).toMatchObject({ name: 'InvalidBucketState', status: 409 });
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
    expect(await s3Error(enable())).toMatchObject({ name: 'InvalidBucketState', status: 409 });
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await enable();
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
  });

  test('ObjectLockConfiguration_roundTrip: a Days rule, then a Years rule, answered as given', async () => {
    const bucket = 'sdk-lock-rules';
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    for (const rule of [{ DefaultRetention: { Mode: 'GOVERNANCE' as const, Days: 3 } }, { DefaultRetention: { Mode: 'COMPLIANCE' as const, Years: 2 } }]) {
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule } }));
      expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: rule });
    }
  });

  const conf = (inner: string, enabled = '<ObjectLockEnabled>Enabled</ObjectLockEnabled>') => `<ObjectLockConfiguration>${enabled}${inner}</ObjectLockConfiguration>`;
  const rule = (retention: string) => `<Rule><DefaultRetention>${retention}</DefaultRetention></Rule>`;
  test.each([
    ['Days and Years together', 400, 'MalformedXML', conf(rule('<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>'))],
    ['neither Days nor Years', 400, 'MalformedXML', conf(rule('<Mode>GOVERNANCE</Mode>'))],
    ['a mode in lower case', 400, 'MalformedXML', conf(rule('<Mode>governance</Mode><Days>1</Days>'))],
    ['no mode', 400, 'MalformedXML', conf(rule('<Days>1</Days>'))],
    ['Days of 0', 400, 'InvalidRetentionPeriod', conf(rule('<Mode>GOVERNANCE</Mode><Days>0</Days>'))],
    ['Years of -1', 400, 'InvalidRetentionPeriod', conf(rule('<Mode>COMPLIANCE</Mode><Years>-1</Years>'))],
    ['Days that are not a number', 400, 'MalformedXML', conf(rule('<Mode>GOVERNANCE</Mode><Days>x</Days>'))],
    ['ObjectLockEnabled Disabled', 400, 'MalformedXML', conf('', '<ObjectLockEnabled>Disabled</ObjectLockEnabled>')],
    ['no ObjectLockEnabled', 400, 'MalformedXML', conf(rule('<Mode>GOVERNANCE</Mode><Days>1</Days>'), '')],
    ['XML that is not well-formed', 400, 'MalformedXML', '<ObjectLockConfiguration><ObjectLockEnabled>Enabled'],
  ])('PutObjectLockConfiguration_refused: %s → %d %s; the configuration in place stays', async (_what, status, code, xml) => {
    const bucket = 'sdk-lock-refusals';
    const kept = { DefaultRetention: { Mode: 'GOVERNANCE' as const, Days: 9 } };
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: kept } }));
    expect(await putXml(`/${bucket}`, { 'object-lock': '' }, xml)).toEqual([status, code]);
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration?.Rule).toEqual(kept);
  });

  test('Lock_integrity: ?object-lock, ?retention and ?legal-hold without Content-MD5 or a checksum are 400 InvalidRequest', async () => {
    await put('integrity');
    for (const [path, query, xml] of [
      [`/${locked}`, 'object-lock', conf('')],
      [`/${locked}/integrity`, 'retention', `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>${days(1).toISOString()}</RetainUntilDate></Retention>`],
      [`/${locked}/integrity`, 'legal-hold', '<LegalHold><Status>ON</Status></LegalHold>'],
    ]) {
      const a = await rootRequest(server, 'PUT', path, { [query]: '' }, xml);
      expect([query, a.status, errorCode(a.body).code]).toEqual([query, 400, 'InvalidRequest']);
    }
    expect(await s3Error(retention('integrity'))).toMatchObject({ name: 'NoSuchObjectLockConfiguration', status: 404 });
  });
});

describe('retention', () => {
  test('Retention_roundTrip: put, get, lengthen; by version id too; none is 404 NoSuchObjectLockConfiguration', async () => {
    const first = await put('ret');
    const second = await put('ret');
    expect(await s3Error(retention('ret'))).toMatchObject({ name: 'NoSuchObjectLockConfiguration', status: 404 });
    await setRetention('ret', 'GOVERNANCE', days(1));
    expect(await retention('ret')).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(1) });
    await setRetention('ret', 'GOVERNANCE', days(2));
    expect(await retention('ret', second)).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(2) });
    await setRetention('ret', 'COMPLIANCE', days(3), { VersionId: first });
    expect(await retention('ret', first)).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: days(3) });
    expect(await retention('ret')).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(2) });
  });

  test('Retention_compliance: lengthened, never shortened, made GOVERNANCE or removed, bypass or not (403 AccessDenied)', async () => {
    await put('comp');
    await setRetention('comp', 'COMPLIANCE', days(2));
    await setRetention('comp', 'COMPLIANCE', days(3));
    for (const attempt of [
      () => setRetention('comp', 'COMPLIANCE', days(1)),
      () => setRetention('comp', 'COMPLIANCE', days(1), { BypassGovernanceRetention: true }),
      () => setRetention('comp', 'GOVERNANCE', days(5), { BypassGovernanceRetention: true }),
    ]) {
      expect(await s3Error(attempt())).toMatchObject({ name: 'AccessDenied', status: 403 });
    }
    expect(await putXml(`/${locked}/comp`, { retention: '' }, '<Retention/>', { 'x-amz-bypass-governance-retention': 'true' })).toEqual([403, 'AccessDenied']);
    expect(await retention('comp')).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: days(3) });
  });

  test('Retention_governance: shortened, made COMPLIANCE or removed only with the bypass header (403 AccessDenied without)', async () => {
    const v = await put('gov');
    await setRetention('gov', 'GOVERNANCE', days(3));
    expect(await s3Error(setRetention('gov', 'GOVERNANCE', days(1)))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await s3Error(setRetention('gov', 'COMPLIANCE', days(3)))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await putXml(`/${locked}/gov`, { retention: '' }, '<Retention/>')).toEqual([403, 'AccessDenied']);
    expect(await retention('gov')).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(3) });
    await setRetention('gov', 'GOVERNANCE', days(1), { BypassGovernanceRetention: true });
    expect(await retention('gov')).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(1) });
    expect(await putXml(`/${locked}/gov`, { retention: '' }, '<Retention/>', { 'x-amz-bypass-governance-retention': 'true' })).toEqual([200, undefined]);
    expect(await s3Error(retention('gov'))).toMatchObject({ name: 'NoSuchObjectLockConfiguration', status: 404 });
    expect((await deleteVersion('gov', v)).$metadata.httpStatusCode).toBe(204);
  });

  test('Retention_refused: a past date is 400 InvalidArgument, a bad mode MalformedXML, a bucket without lock 400 InvalidRequest', async () => {
    await put('past');
    const past = await s3Error(setRetention('past', 'GOVERNANCE', new Date(Date.now() - 60_000)));
    expect(past).toMatchObject({ name: 'InvalidArgument', status: 400, message: 'The retain until date must be in the future!' });
    const xml = `<Retention><Mode>governance</Mode><RetainUntilDate>${days(1).toISOString()}</RetainUntilDate></Retention>`;
    expect(await putXml(`/${locked}/past`, { retention: '' }, xml)).toEqual([400, 'MalformedXML']);
    expect(await s3Error(retention('past'))).toMatchObject({ name: 'NoSuchObjectLockConfiguration', status: 404 });
    await put('k', {}, plain);
    const missing = { status: 400, message: 'Bucket is missing Object Lock Configuration' };
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({ Bucket: plain, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: days(1) } })))).toMatchObject({ name: 'InvalidRequest', ...missing });
    expect(await s3Error(s3.send(new GetObjectRetentionCommand({ Bucket: plain, Key: 'k' })))).toMatchObject({ name: 'InvalidRequest', ...missing });
    expect(await s3Error(s3.send(new PutObjectLegalHoldCommand({ Bucket: plain, Key: 'k', LegalHold: { Status: 'ON' } })))).toMatchObject({ name: 'InvalidRequest', ...missing });
    expect(await s3Error(s3.send(new GetObjectLegalHoldCommand({ Bucket: plain, Key: 'k' })))).toMatchObject({ name: 'InvalidRequest', ...missing });
    expect(await s3Error(retention('never-written'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });

  test('GovernanceBypass_permission: the bypass header needs s3:BypassGovernanceRetention; without it, shortening and deleting are 403', async () => {
    const actions = ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:GetObjectRetention'];
    const policy = (extra: string[]) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: [...actions, ...extra], Resource: [`arn:aws:s3:::${locked}/*`] }] });
    const without = s3Client(server.url, await createUser(server, 'lock-no-bypass', { 'lock-no-bypass': policy([]) }));
    const withIt = s3Client(server.url, await createUser(server, 'lock-bypass', { 'lock-bypass': policy(['s3:BypassGovernanceRetention']) }));
    try {
      const v = await put('bypass');
      await setRetention('bypass', 'GOVERNANCE', days(3));
      expect(await s3Error(setRetention('bypass', 'GOVERNANCE', days(1), { BypassGovernanceRetention: true }, without))).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(await s3Error(deleteVersion('bypass', v, true, without))).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(await retention('bypass')).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(3) });
      expect(await read('bypass', v)).toBe('body of bypass');
      // Without the header, the permission alone bypasses nothing.
      expect(await s3Error(deleteVersion('bypass', v, false, withIt))).toMatchObject({ name: 'AccessDenied', status: 403 });
      await setRetention('bypass', 'GOVERNANCE', days(1), { BypassGovernanceRetention: true }, withIt);
      expect(await retention('bypass')).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(1) });
      expect((await deleteVersion('bypass', v, true, withIt)).$metadata.httpStatusCode).toBe(204);
      expect(await s3Error(read('bypass', v))).toMatchObject({ name: 'NoSuchVersion', status: 404 });
    } finally {
      without.destroy();
      withIt.destroy();
    }
  });
});

describe('policies', () => {
  test('ObjectLockConditionKeys: a policy caps the retention a writer may ask for (s3:object-lock-remaining-retention-days, s3:object-lock-mode)', async () => {
    const statement = { Effect: 'Allow', Action: ['s3:PutObject', 's3:PutObjectRetention'], Resource: [`arn:aws:s3:::${locked}/*`] };
    const cap = {
      Version: '2012-10-17',
      Statement: [
        statement,
        { Effect: 'Deny', Action: 's3:PutObjectRetention', Resource: `arn:aws:s3:::${locked}/*`, Condition: { NumericGreaterThan: { 's3:object-lock-remaining-retention-days': '30' } } },
        { Effect: 'Deny', Action: 's3:PutObjectRetention', Resource: `arn:aws:s3:::${locked}/*`, Condition: { StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' } } },
      ],
    };
    const writer = s3Client(server.url, await createUser(server, 'lock-capped', { 'lock-capped': cap }));
    try {
      const write = (Key: string, mode: ObjectLockRetentionMode, until: Date) =>
        writer.send(new PutObjectCommand({ Bucket: locked, Key, Body: 'x', ObjectLockMode: mode, ObjectLockRetainUntilDate: until, ChecksumAlgorithm: 'CRC32' }));
      await write('capped-ok', 'GOVERNANCE', days(10));
      expect(await retention('capped-ok')).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: days(10) });
      expect(await s3Error(write('capped-long', 'GOVERNANCE', days(90)))).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(await s3Error(write('capped-compliance', 'COMPLIANCE', days(1)))).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: locked, Key: 'capped-long' })))).toMatchObject({ status: 404 });
    } finally {
      writer.destroy();
    }
  });
});

describe('legal hold', () => {
  test('LegalHold: none is 404 NoSuchObjectLockConfiguration; ON forbids deletion even with the bypass; OFF lets it go', async () => {
    const v = await put('held');
    expect(await s3Error(s3.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'held' })))).toMatchObject({ name: 'NoSuchObjectLockConfiguration', status: 404 });
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: locked, Key: 'held', LegalHold: { Status: 'ON' } }));
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'held', VersionId: v }))).LegalHold).toEqual({ Status: 'ON' });
    expect(await s3Error(deleteVersion('held', v))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await s3Error(deleteVersion('held', v, true))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await read('held', v)).toBe('body of held');
    expect(await putXml(`/${locked}/held`, { 'legal-hold': '' }, '<LegalHold><Status>on</Status></LegalHold>')).toEqual([400, 'MalformedXML']);
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: locked, Key: 'held', LegalHold: { Status: 'OFF' } }));
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'held' }))).LegalHold).toEqual({ Status: 'OFF' });
    expect((await deleteVersion('held', v)).$metadata.httpStatusCode).toBe(204);
  });
});

describe('writes', () => {
  const lockOf = async (Key: string, VersionId?: string) => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: locked, Key, VersionId }));
    return { mode: h.ObjectLockMode, until: h.ObjectLockRetainUntilDate, hold: h.ObjectLockLegalHoldStatus };
  };

  test('PutObject_lockHeaders: the version gets them; HEAD and GET answer them, each to a reader allowed to read it', async () => {
    await put('with-lock', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: days(2), ObjectLockLegalHoldStatus: 'ON' });
    expect(await lockOf('with-lock')).toEqual({ mode: 'GOVERNANCE', until: days(2), hold: 'ON' });
    const got = await s3.send(new GetObjectCommand({ Bucket: locked, Key: 'with-lock' }));
    expect([got.ObjectLockMode, got.ObjectLockRetainUntilDate, got.ObjectLockLegalHoldStatus]).toEqual(['GOVERNANCE', days(2), 'ON']);
    expect(await got.Body!.transformToString()).toBe('body of with-lock');
    expect(await lockOf('integrity')).toEqual({ mode: undefined, until: undefined, hold: undefined });
    // Each is answered only to a reader allowed to read it, as S3 does.
    const reader = async (name: string, actions: string[]) => {
      const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', ...actions], Resource: [`arn:aws:s3:::${locked}/*`] }] };
      return s3Client(server.url, await createUser(server, name, { [name]: policy }));
    };
    const headOf = async (client: S3Client) => {
      const h = await client.send(new HeadObjectCommand({ Bucket: locked, Key: 'with-lock' }));
      client.destroy();
      return [h.ObjectLockMode, h.ObjectLockRetainUntilDate, h.ObjectLockLegalHoldStatus];
    };
    expect(await headOf(await reader('lock-reader-plain', []))).toEqual([undefined, undefined, undefined]);
    expect(await headOf(await reader('lock-reader-retention', ['s3:GetObjectRetention']))).toEqual(['GOVERNANCE', days(2), undefined]);
    expect(await headOf(await reader('lock-reader-hold', ['s3:GetObjectLegalHold']))).toEqual([undefined, undefined, 'ON']);
  });

  test('PutObject_lockRefused: mode without date is InvalidArgument, a past date InvalidArgument, a bucket without lock InvalidRequest, no checksum InvalidRequest', async () => {
    expect(await s3Error(put('half', { ObjectLockMode: 'GOVERNANCE' }))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await s3Error(put('half', { ObjectLockRetainUntilDate: days(1) }))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await s3Error(put('half', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() - 1000) }))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await s3Error(put('half', { ObjectLockLegalHoldStatus: 'ON' }, plain))).toMatchObject({ name: 'InvalidRequest', status: 400, message: 'Bucket is missing Object Lock Configuration' });
    // A raw PUT carries no checksum unless told to.
    const a = await rootRequest(server, 'PUT', `/${locked}/half`, {}, 'data', { 'x-amz-object-lock-legal-hold': 'ON' });
    expect([a.status, errorCode(a.body).code]).toEqual([400, 'InvalidRequest']);
    const md5 = createHash('md5').update('data').digest('base64');
    const b = await rootRequest(server, 'PUT', `/${locked}/half`, {}, 'data', { 'x-amz-object-lock-legal-hold': 'OFF', 'content-md5': md5 });
    expect(b.status).toBe(200);
    expect(await lockOf('half')).toEqual({ mode: undefined, until: undefined, hold: 'OFF' });
  });

  test('CopyObject_lockHeaders: the copy gets the lock its request asks for, not the source’s', async () => {
    await put('copy-src', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: days(1) });
    await s3.send(new CopyObjectCommand({ Bucket: locked, Key: 'copy-plain', CopySource: `${locked}/copy-src` }));
    expect(await lockOf('copy-plain')).toEqual({ mode: undefined, until: undefined, hold: undefined });
    await s3.send(new CopyObjectCommand({
      Bucket: locked, Key: 'copy-locked', CopySource: `${locked}/copy-src`, ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: days(4), ObjectLockLegalHoldStatus: 'ON',
    }));
    expect(await lockOf('copy-locked')).toEqual({ mode: 'GOVERNANCE', until: days(4), hold: 'ON' });
    expect(await read('copy-locked')).toBe('body of copy-src');
  });

  test('MultipartUpload_lockHeaders: the completed object gets the lock given at CreateMultipartUpload', async () => {
    const Key = 'mp-locked';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({
      Bucket: locked, Key, ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: days(5), ObjectLockLegalHoldStatus: 'OFF',
    }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: locked, Key, UploadId, PartNumber: 1, Body: 'one part' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: locked, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    expect(await lockOf(Key, done.VersionId)).toEqual({ mode: 'COMPLIANCE', until: days(5), hold: 'OFF' });
    expect(await s3Error(deleteVersion(Key, done.VersionId!, true))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  test('DefaultRetention: a version written without lock headers gets the bucket default from its creation; headers override it', async () => {
    const bucket = 'sdk-lock-default';
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(new PutObjectLockConfigurationCommand({
      Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
    }));
    const v = await put('defaulted', {}, bucket);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'defaulted' }));
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    // Last-Modified has whole seconds; the retention is the creation time plus one day.
    const delta = head.ObjectLockRetainUntilDate!.getTime() - head.LastModified!.getTime();
    expect(delta).toBeGreaterThanOrEqual(86_400_000);
    expect(delta).toBeLessThan(86_401_000);
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'defaulted', VersionId: v })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    await put('own', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: days(7) }, bucket);
    const own = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'own' }));
    expect([own.ObjectLockMode, own.ObjectLockRetainUntilDate]).toEqual(['COMPLIANCE', days(7)]);
  });
});

describe('deletes', () => {
  test('DeleteObject: a locked version is 403 AccessDenied and stays readable; without a version id a delete marker is added', async () => {
    const v = await put('kept', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: days(1) });
    expect(await s3Error(deleteVersion('kept', v, true))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await read('kept')).toBe('body of kept');
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: locked, Key: 'kept' }));
    expect([marker.$metadata.httpStatusCode, marker.DeleteMarker]).toEqual([204, true]);
    expect(await s3Error(read('kept'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await read('kept', v)).toBe('body of kept');
    // The marker itself is no locked version: removing it brings the object back.
    await deleteVersion('kept', marker.VersionId!);
    expect(await read('kept')).toBe('body of kept');
  });

  test('DeleteObjects: a locked version is that key’s AccessDenied error; the other keys are deleted', async () => {
    const lockedV = await put('batch-locked', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: days(1) });
    const freeV = await put('batch-free');
    const r = await s3.send(new DeleteObjectsCommand({
      Bucket: locked, Delete: { Objects: [{ Key: 'batch-locked', VersionId: lockedV }, { Key: 'batch-free', VersionId: freeV }, { Key: 'batch-marker' }] },
    }));
    expect(r.Errors).toEqual([{ Key: 'batch-locked', VersionId: lockedV, Code: 'AccessDenied', Message: 'Access Denied because object protected by object lock.' }]);
    expect(r.Deleted?.map((d) => [d.Key, d.VersionId ?? null, d.DeleteMarker ?? false])).toEqual([
      ['batch-free', freeV, false], ['batch-marker', null, true],
    ]);
    expect(await read('batch-locked', lockedV)).toBe('body of batch-locked');
    expect(await s3Error(read('batch-free', freeV))).toMatchObject({ name: 'NoSuchVersion', status: 404 });
    // With the bypass, GOVERNANCE gives way.
    const again = await s3.send(new DeleteObjectsCommand({ Bucket: locked, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'batch-locked', VersionId: lockedV }] } }));
    expect([again.Errors ?? [], again.Deleted?.map((d) => d.VersionId)]).toEqual([[], [lockedV]]);
  });

  test('DeleteObjects_bypassByVersion: the bypass is authorized key by key; a version the caller may not bypass stays, the others go', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: [`arn:aws:s3:::${locked}/mixed-*`] },
        { Effect: 'Allow', Action: 's3:BypassGovernanceRetention', Resource: [`arn:aws:s3:::${locked}/mixed-may`] },
      ],
    };
    const deleter = s3Client(server.url, await createUser(server, 'lock-mixed-bypass', { 'lock-mixed-bypass': policy }));
    try {
      const may = await put('mixed-may', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: days(1) });
      const mayNot = await put('mixed-may-not', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: days(1) });
      const r = await deleter.send(new DeleteObjectsCommand({
        Bucket: locked, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'mixed-may', VersionId: may }, { Key: 'mixed-may-not', VersionId: mayNot }] },
      }));
      expect(r.Deleted?.map((d) => [d.Key, d.VersionId])).toEqual([['mixed-may', may]]);
      expect(r.Errors?.map((e) => [e.Key, e.Code])).toEqual([['mixed-may-not', 'AccessDenied']]);
      expect(await read('mixed-may-not', mayNot)).toBe('body of mixed-may-not');
    } finally {
      deleter.destroy();
    }
  });

  test('DeleteBucket: 409 BucketNotEmpty while locked versions remain', async () => {
    const bucket = 'sdk-lock-gone';
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    const v = await put('k', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: days(1) }, bucket);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
    expect(await s3Error(s3.send(new DeleteBucketCommand({ Bucket: bucket })))).toMatchObject({ name: 'BucketNotEmpty', status: 409 });
    const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: v }));
    expect(await body.Body!.transformToString()).toBe('body of k');
  });
});
