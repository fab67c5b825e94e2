import { createHash, createHmac, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ROOT, pseudoRandom, s3Client, startTestServer, type TestServer } from '../harness';
import { errorFields, rawRequest, type Answer } from './raw';

/**
 * Signature Version 2 over raw HTTP: browser POST forms with a v2 policy (AWSAccessKeyId,
 * policy, signature = base64(HMAC-SHA1(secret, base64 policy))), built byte by byte as a
 * browser sends them, and v2 Authorization headers on path-style and virtual-hosted requests
 * (RFS_DOMAIN), including UTF-8 metadata sent as raw bytes. Signatures are computed here from
 * the spec, not by the server's code; what was stored is checked through the AWS SDK (SigV4).
 */
const DOMAIN = 's3.rfs.test';
const bucket = 'http-post-v2';
let server: TestServer;
let off: TestServer;
let s3: S3Client;

beforeAll(async () => {
  [server, off] = await Promise.all([startTestServer({ RFS_DOMAIN: DOMAIN }), startTestServer({ RFS_SIGV2: 'off' })]);
  s3 = s3Client(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const offS3 = s3Client(off.url);
  await offS3.send(new CreateBucketCommand({ Bucket: bucket }));
  offS3.destroy();
});
afterAll(async () => {
  s3?.destroy();
  await Promise.all([server?.close(), off?.close()]);
});

const hmacSha1 = (secret: string, text: string | Buffer) => createHmac('sha1', secret).update(text).digest('base64');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

type Condition = Record<string, string> | [string, string | number, string | number];

/** The auth fields of a SigV2 form for a policy over `conditions` (plus the bucket). */
function v2Fields(conditions: Condition[], opts: { expiration?: Date; secret?: string } = {}): [string, string][] {
  const policy = Buffer.from(
    JSON.stringify({ expiration: (opts.expiration ?? new Date(Date.now() + 600_000)).toISOString(), conditions: [{ bucket }, ...conditions] }),
  ).toString('base64');
  return [
    ['AWSAccessKeyId', ROOT.accessKeyId],
    ['policy', policy],
    ['signature', hmacSha1(opts.secret ?? ROOT.secretKey, policy)],
  ];
}

/** A multipart/form-data body as browsers write it: the fields, then the file. */
function formBody(fields: [string, string][], file: Buffer, filename = 'local.bin'): { body: Buffer; type: string } {
  const boundary = `----rfsFormBoundary${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of fields) chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
  chunks.push(file, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/** One raw request to `base`; header values are written as given (latin1 chars = bytes). */
const request = (base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> =>
  rawRequest(method, `${base}${path}`, { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, body);

const error = (a: Answer) => errorFields(a, ['Code', 'Message', 'StringToSign']);

async function getBytes(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe('SigV2 POST forms', () => {
  test('PostObject_v2: a v2-signed policy admits the upload; Content-Type and x-amz-meta-* applied; bytes round-trip', async () => {
    const file = pseudoRandom(200_000, 21);
    const f = formBody(
      [['key', 'v2/${filename}'], ['Content-Type', 'image/x-rfs'], ['x-amz-meta-color', 'blue'], ...v2Fields([['starts-with', '$key', 'v2/'], ['starts-with', '$Content-Type', 'image/'], { 'x-amz-meta-color': 'blue' }])],
      file,
      'photo 1.bin',
    );
    const a = await request(server.url, 'POST', `/${bucket}`, { 'content-type': f.type }, f.body);
    expect({ status: a.status, body: a.body }).toEqual({ status: 204, body: '' });
    expect(a.headers.etag).toBe(`"${md5(file)}"`);
    expect((await getBytes('v2/photo 1.bin')).equals(file)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'v2/photo 1.bin' }));
    expect({ type: head.ContentType, meta: head.Metadata }).toEqual({ type: 'image/x-rfs', meta: { color: 'blue' } });
  });

  test('PostObject_v2_badSignature: signed with another secret → 403 SignatureDoesNotMatch, nothing stored', async () => {
    const f = formBody([['key', 'v2/bad.bin'], ...v2Fields([{ key: 'v2/bad.bin' }], { secret: 'not-the-secret' })], Buffer.from('x'));
    const a = await request(server.url, 'POST', `/${bucket}`, { 'content-type': f.type }, f.body);
    expect(error(a)).toMatchObject({ status: '403', Code: 'SignatureDoesNotMatch' });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'v2/bad' }));
    expect(listed.KeyCount).toBe(0);
  });

  test('PostObject_v2_policy: a field the policy does not cover, a failed condition, an expired policy → 403 AccessDenied', async () => {
    const extra = formBody([['key', 'v2/x.bin'], ['x-amz-meta-extra', '1'], ...v2Fields([{ key: 'v2/x.bin' }])], Buffer.from('x'));
    expect(error(await request(server.url, 'POST', `/${bucket}`, { 'content-type': extra.type }, extra.body))).toMatchObject({
      status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Extra input fields: x-amz-meta-extra',
    });
    const wrongKey = formBody([['key', 'other/x.bin'], ...v2Fields([['starts-with', '$key', 'v2/']])], Buffer.from('x'));
    expect(error(await request(server.url, 'POST', `/${bucket}`, { 'content-type': wrongKey.type }, wrongKey.body))).toMatchObject({ status: '403', Code: 'AccessDenied' });
    const expired = formBody([['key', 'v2/x.bin'], ...v2Fields([{ key: 'v2/x.bin' }], { expiration: new Date(Date.now() - 60_000) })], Buffer.from('x'));
    expect(error(await request(server.url, 'POST', `/${bucket}`, { 'content-type': expired.type }, expired.body))).toMatchObject({
      status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Policy expired.',
    });
  });

  test('PostObject_v2_off: with RFS_SIGV2=off the v2 form is refused as S3 refuses SigV2 (400 InvalidRequest)', async () => {
    const f = formBody([['key', 'v2/off.bin'], ...v2Fields([{ key: 'v2/off.bin' }])], Buffer.from('x'));
    expect(error(await request(off.url, 'POST', `/${bucket}`, { 'content-type': f.type }, f.body))).toMatchObject({
      status: '400', Code: 'InvalidRequest', Message: 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
    });
  });
});

describe('SigV2 Authorization header over raw HTTP', () => {
  /** Headers for `AWS id:signature` over the spec's string to sign (`amz`: x-amz-* lines). */
  function signedHeaders(method: string, resource: string, headers: Record<string, string>, amz = ''): Record<string, string> {
    const date = new Date().toUTCString();
    const toSign = `${method}\n${headers['content-md5'] ?? ''}\n${headers['content-type'] ?? ''}\n${date}\n${amz}${resource}`;
    return { ...headers, date, authorization: `AWS ${ROOT.accessKeyId}:${hmacSha1(ROOT.secretKey, Buffer.from(toSign, 'utf8'))}` };
  }

  test('SigV2_virtualHosted: the bucket in the Host goes first in the canonical resource', async () => {
    const body = Buffer.from('virtual\n');
    const host = `${bucket}.${DOMAIN}`;
    const put = await request(server.url, 'PUT', '/vh/a%20b.txt', signedHeaders('PUT', `/${bucket}/vh/a%20b.txt`, { host, 'content-type': 'text/plain' }), body);
    expect(put.status).toBe(200);
    const get = await request(server.url, 'GET', '/vh/a%20b.txt', signedHeaders('GET', `/${bucket}/vh/a%20b.txt`, { host }));
    expect({ status: get.status, body: get.body }).toEqual({ status: 200, body: 'virtual\n' });
    const list = await request(server.url, 'GET', '/?prefix=vh%2F', signedHeaders('GET', `/${bucket}/`, { host }));
    expect(list.status).toBe(200);
    expect(list.body).toContain('<Key>vh/a b.txt</Key>');
    // Signed for the path alone (no /bucket): refused, with what rfs signed.
    const wrong = await request(server.url, 'GET', '/vh/a%20b.txt', signedHeaders('GET', '/vh/a%20b.txt', { host }));
    expect(error(wrong)).toMatchObject({ status: '403', Code: 'SignatureDoesNotMatch', StringToSign: expect.stringMatching(new RegExp(`\\n/${bucket}/vh/a%20b.txt$`)) });
  });

  test("SigV2_utf8Metadata: x-amz-meta-* sent as raw UTF-8 bytes is signed as sent, stored, and returned byte for byte", async () => {
    const wire = (text: string) => Buffer.from(text, 'utf8').toString('latin1'); // Node writes these chars as single bytes
    const headers = { 'x-amz-meta-city': wire('日本'), 'x-amz-meta-name': wire('café') };
    const put = await request(server.url, 'PUT', `/${bucket}/utf8.txt`, signedHeaders('PUT', `/${bucket}/utf8.txt`, headers, 'x-amz-meta-city:日本\nx-amz-meta-name:café\n'), Buffer.from('x'));
    expect({ status: put.status, body: put.body }).toEqual({ status: 200, body: '' });
    const head = await request(server.url, 'HEAD', `/${bucket}/utf8.txt`, signedHeaders('HEAD', `/${bucket}/utf8.txt`, {}));
    const text = (v: unknown) => Buffer.from(String(v), 'latin1').toString('utf8');
    expect({ name: text(head.headers['x-amz-meta-name']), city: text(head.headers['x-amz-meta-city']) }).toEqual({ name: 'café', city: '日本' });
  });

  test('SigV2_off: the same header is refused by a gateway with RFS_SIGV2=off', async () => {
    const a = await request(off.url, 'GET', `/${bucket}`, signedHeaders('GET', `/${bucket}`, {}));
    expect(error(a)).toMatchObject({ status: '400', Code: 'InvalidRequest' });
  });
});
