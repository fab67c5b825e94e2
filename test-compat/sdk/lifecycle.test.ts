import { createHash } from 'node:crypto';
import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  S3Client,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { type TestServer, openSuite, closeSuite, s3Error } from '../harness';
import { signRequest } from '../http/signing';

/** Lifecycle configuration through @aws-sdk/client-s3 (and raw XML for what the SDK cannot
 * send): stored and answered back as given, refused with S3's codes and messages. */
let server: TestServer;
let s3: S3Client;
const bucket = 'sdk-lifecycle';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

const put = (Rules: LifecycleRule[]) => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }));
const get = async () => (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules;

/** PUT ?lifecycle with a raw document, Content-MD5 as S3 requires. */
async function putXml(xml: string): Promise<{ status: number; body: string }> {
  const headers = { 'content-md5': createHash('md5').update(xml).digest('base64') };
  const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}`, query: { lifecycle: '' }, headers, body: xml });
  const res = await fetch(s.url, { method: 'PUT', headers: s.headers, body: xml });
  return { status: res.status, body: await res.text() };
}

test('Lifecycle_none: GetBucketLifecycleConfiguration is NoSuchLifecycleConfiguration 404; delete is 204 anyway', async () => {
  expect(await s3Error(get())).toMatchObject({ name: 'NoSuchLifecycleConfiguration', status: 404 });
  expect((await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }))).$metadata.httpStatusCode).toBe(204);
});

test('Lifecycle_roundTrip: every filter form and action is answered back as given, in order', async () => {
  const rules: LifecycleRule[] = [
    { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
    { ID: 'tmp-tagged', Status: 'Disabled', Filter: { Tag: { Key: 'tmp', Value: 'yes' } }, Expiration: { Date: new Date('2030-01-01T00:00:00Z') } },
    {
      ID: 'big-old',
      Status: 'Enabled',
      Filter: { And: { Prefix: 'data/', Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }], ObjectSizeGreaterThan: 1024, ObjectSizeLessThan: 1048576 } },
      NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 3 },
    },
    { ID: 'markers-and-uploads', Status: 'Enabled', Filter: {}, Expiration: { ExpiredObjectDeleteMarker: true }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
    { ID: 'small', Status: 'Enabled', Filter: { ObjectSizeLessThan: 100 }, Expiration: { Days: 1 } },
  ];
  await put(rules);
  expect(await get()).toEqual([
    { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
    { ID: 'tmp-tagged', Status: 'Disabled', Filter: { Tag: { Key: 'tmp', Value: 'yes' } }, Expiration: { Date: new Date('2030-01-01T00:00:00Z') } },
    rules[2],
    { ID: 'markers-and-uploads', Status: 'Enabled', Filter: {}, Expiration: { ExpiredObjectDeleteMarker: true }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
    rules[4],
  ]);
  // A replacement replaces the whole configuration; a rule without an ID gets one.
  await put([{ Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }]);
  const [only, ...rest] = (await get())!;
  expect([rest, only.ID?.length, only.Filter]).toEqual([[], 40, { Prefix: '' }]);
  await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
  expect(await s3Error(get())).toMatchObject({ name: 'NoSuchLifecycleConfiguration', status: 404 });
});

test('Lifecycle_legacyPrefix: a Rule-level Prefix (the older form) is answered back the same way', async () => {
  const a = await putXml('<LifecycleConfiguration><Rule><ID>old</ID><Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>');
  expect(a.status).toBe(200);
  expect(await get()).toEqual([{ ID: 'old', Prefix: 'a/', Status: 'Enabled', Expiration: { Days: 3 } }]);
});

const rule = (body: string, id = 'r') => `<Rule><ID>${id}</ID>${body}</Rule>`;
const doc = (...rules: string[]) => `<LifecycleConfiguration>${rules.join('')}</LifecycleConfiguration>`;
const ok = (extra = '') => rule(`<Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>${extra}`);

test.each([
  ['no rule', doc(), 400, 'MalformedXML'],
  ['a Status other than Enabled or Disabled', doc(rule('<Filter/><Status>enabled</Status><Expiration><Days>1</Days></Expiration>')), 400, 'MalformedXML'],
  ['both Filter and Prefix', doc(rule('<Prefix>a</Prefix><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')), 400, 'MalformedXML'],
  ['neither Filter nor Prefix', doc(rule('<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')), 400, 'MalformedXML'],
  ['two conditions without And', doc(rule('<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')), 400, 'MalformedXML'],
  ['Days and Date together', doc(rule('<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>')), 400, 'MalformedXML'],
  ['Days of 0', doc(rule('<Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>')), 400, 'InvalidArgument'],
  ['a Date that is not midnight UTC', doc(rule('<Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>')), 400, 'InvalidArgument'],
  ['an ID over 255 characters', doc(rule('<Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>', 'x'.repeat(256))), 400, 'InvalidArgument'],
  ['two rules with one ID', doc(ok(), ok()), 400, 'InvalidArgument'],
  ['a rule without an action', doc(rule('<Filter/><Status>Enabled</Status>')), 400, 'InvalidRequest'],
  ['NoncurrentDays of 0', doc(rule('<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>')), 400, 'InvalidArgument'],
  ['AbortIncompleteMultipartUpload with a tag filter', doc(rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>')), 400, 'InvalidRequest'],
  ['sizes that leave nothing', doc(rule('<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')), 400, 'InvalidRequest'],
  ['a duplicate tag key', doc(rule('<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')), 400, 'InvalidRequest'],
  ['an unknown element', doc(rule('<Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><Colour>red</Colour>')), 400, 'MalformedXML'],
  ['a transition (one storage class)', doc(rule('<Filter/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>')), 501, 'NotImplemented'],
])('Lifecycle_refused: %s → %s %s; the configuration in place stays', async (_what, xml, status, code) => {
  await put([{ ID: 'kept', Status: 'Enabled', Filter: { Prefix: 'k/' }, Expiration: { Days: 9 } }]);
  const a = await putXml(xml);
  expect([a.status, /<Code>([^<]+)<\/Code>/.exec(a.body)?.[1]]).toEqual([status, code]);
  expect((await get())!.map((r) => r.ID)).toEqual(['kept']);
});

test('Lifecycle_integrity: a PUT without Content-MD5 or a checksum is refused', async () => {
  const xml = doc(ok());
  const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}`, query: { lifecycle: '' }, body: xml });
  const res = await fetch(s.url, { method: 'PUT', headers: s.headers, body: xml });
  expect(res.status).toBe(400);
  expect(await res.text()).toMatch(/<Code>(InvalidRequest|MissingContentMD5)<\/Code>/);
});
