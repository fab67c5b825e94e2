import { createHash } from 'node:crypto';
import http from 'node:http';
import { PutObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ROOT, type TestServer, openSuite, closeSuite } from '../harness';
import { signRequest, signedChunkedBody } from './signing';
import { errorCode as code, rawRequest as raw, signedRequest, type Answer } from './raw';



/** Wrong input of every kind, over raw HTTP: each gets S3's status and XML error code. */
let server: TestServer;
let s3: S3Client;
const bucket = 'http-errors';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
const signed = (method: string, path: string, init?: Parameters<typeof signedRequest>[3], opts?: Parameters<typeof signedRequest>[4]) =>
  signedRequest(server.url, method, path, init, opts);
afterAll(() => closeSuite({ server, s3 }));




async function exists(key: string): Promise<boolean> {
  return s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);
}

describe('errors are S3 XML with S3 status codes', () => {
  test('Anonymous_request: AccessDenied 403 with Code, Message, Resource, RequestId', async () => {
    const a = await raw('GET', `${server.url}/${bucket}/key`);
    expect(a.status).toBe(403);
    expect(code(a)).toBe('AccessDenied');
    expect(a.body).toMatch(/<Message>[^<]+<\/Message>/);
    expect(a.body).toContain(`<Resource>/${bucket}/key</Resource>`);
    expect(a.body).toContain(`<RequestId>${a.headers['x-amz-request-id']}</RequestId>`);
    expect(a.headers['content-type']).toContain('application/xml');
  });

  test('HEAD_error: status only, no body', async () => {
    const a = await signed('HEAD', `/${bucket}/missing`);
    expect(a.status).toBe(404);
    expect(a.body).toBe('');
  });

  test('SignatureDoesNotMatch: wrong secret', async () => {
    const a = await signed('GET', `/${bucket}/k`, {}, { keys: { accessKeyId: ROOT.accessKeyId, secretKey: 'wrong' } });
    expect([a.status, code(a)]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  test('InvalidAccessKeyId: unknown key', async () => {
    const a = await signed('GET', `/${bucket}/k`, {}, { keys: { accessKeyId: 'AKIDNOTKNOWN', secretKey: 'x' } });
    expect([a.status, code(a)]).toEqual([403, 'InvalidAccessKeyId']);
  });

  test('AuthorizationHeaderMalformed: credential without a scope', async () => {
    const a = await raw('GET', `${server.url}/${bucket}/k`, {
      authorization: `AWS4-HMAC-SHA256 Credential=${ROOT.accessKeyId}, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
      'x-amz-date': '20260101T000000Z',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    });
    expect([a.status, code(a)]).toEqual([400, 'AuthorizationHeaderMalformed']);
  });

  test('RequestTimeTooSkewed: a request signed 20 minutes ago', async () => {
    const a = await signed('GET', `/${bucket}/k`, {}, { date: new Date(Date.now() - 20 * 60_000) });
    expect([a.status, code(a)]).toEqual([403, 'RequestTimeTooSkewed']);
  });

  test('Presigned_expired: AccessDenied 403', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'p', Body: 'x' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'p' }), { expiresIn: 1, signingDate: new Date(Date.now() - 10_000) });
    const a = await raw('GET', url);
    expect([a.status, code(a)]).toEqual([403, 'AccessDenied']);
    expect(a.body).toContain('expired');
  });

  test('Presigned_overAWeek: AuthorizationQueryParametersError 400', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'p' }), { expiresIn: 60 });
    const a = await raw('GET', url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=700000'));
    expect(a.status).toBe(400);
    expect(code(a)).toBe('AuthorizationQueryParametersError');
  });

  test('MalformedXML: CreateBucket with a broken body', async () => {
    const a = await signed('PUT', '/http-bad-xml', { body: '<CreateBucketConfiguration><LocationConstraint>eu' });
    expect([a.status, code(a)]).toEqual([400, 'MalformedXML']);
  });

  test('InvalidURI: a key that is not UTF-8', async () => {
    const a = await raw('GET', `${server.url}/${bucket}/%FF%FE`);
    expect([a.status, code(a)]).toEqual([400, 'InvalidURI']);
  });

  test('Range_unparseable: ignored, whole object with 200', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'r', Body: '0123456789' }));
    const a = await signed('GET', `/${bucket}/r`, { headers: { range: 'bytes=abc' } });
    expect([a.status, a.body]).toEqual([200, '0123456789']);
    const b = await signed('GET', `/${bucket}/r`, { headers: { range: 'bytes=20-30' } });
    expect([b.status, code(b)]).toEqual([416, 'InvalidRange']);
    expect(b.headers['content-range']).toBe('bytes */10');
  });

  test('RequestHeaderSectionTooLarge: a 100 KiB header', async () => {
    const a = await raw('GET', `${server.url}/${bucket}/k`, { 'x-amz-meta-huge': 'x'.repeat(100 * 1024) });
    expect(a.status).toBe(400);
    expect(code(a)).toBe('RequestHeaderSectionTooLarge');
  });

  test('NotImplemented: a feature not built is 501, never a wrong success', async () => {
    const a = await signed('GET', `/${bucket}`, { query: { replication: '' } });
    expect([a.status, code(a)]).toEqual([501, 'NotImplemented']);
    const b = await signed('PUT', `/${bucket}/k`, { query: { restore: '' }, body: 'x' });
    expect([b.status, code(b)]).toEqual([501, 'NotImplemented']);
    expect(await exists('k')).toBe(false);
  });

  /** A signed request whose body goes out in `pieces` with Transfer-Encoding: chunked, no length. */
  function chunked(method: string, path: string, pieces: Buffer[], query?: Record<string, string>): Promise<Answer> {
    return signRequest(server.url, { method, path, query }, { payloadHash: 'UNSIGNED-PAYLOAD' }).then(
      (s) =>
        new Promise<Answer>((resolve, reject) => {
          const req = http.request(s.url, { method, headers: { ...s.headers, 'transfer-encoding': 'chunked' } }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
          });
          req.on('error', reject);
          for (const p of pieces) req.write(p);
          req.end();
        }),
    );
  }

  test('PutObject_chunked: a body sent with Transfer-Encoding: chunked and no length is stored, small or large', async () => {
    for (const [key, size] of [['te-small', 9], ['te-large', 3 * 1024 * 1024 + 5]] as const) {
      const data = Buffer.alloc(size, key);
      const pieces = [data.subarray(0, 4), data.subarray(4, 70_000), data.subarray(70_000)];
      const a = await chunked('PUT', `/${bucket}/${key}`, pieces);
      expect([a.status, a.headers.etag]).toEqual([200, `"${createHash('md5').update(data).digest('hex')}"`]);
      const back = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
      expect(back.equals(data)).toBe(true);
    }
  });

  test('MissingContentLength: UploadPart with chunked transfer-encoding and no length (parts need their size)', async () => {
    const created = await signed('POST', `/${bucket}/te-part`, { query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)![1];
    const a = await chunked('PUT', `/${bucket}/te-part`, [Buffer.from('some'), Buffer.from('data')], { partNumber: '1', uploadId });
    expect([a.status, code(a)]).toEqual([411, 'MissingContentLength']);
    await signed('DELETE', `/${bucket}/te-part`, { query: { uploadId } });
  });
});

describe('payload integrity: a bad body never becomes an object', () => {
  test('XAmzContentSHA256Mismatch: body differs from the signed hash', async () => {
    const a = await signed('PUT', `/${bucket}/sha`, { body: 'actual body' }, { payloadHash: createHash('sha256').update('other body').digest('hex') });
    expect([a.status, code(a)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await exists('sha')).toBe(false);
  });

  test('BadDigest: Content-MD5 that does not match', async () => {
    const a = await signed('PUT', `/${bucket}/md5`, { body: 'abc', headers: { 'content-md5': createHash('md5').update('abd').digest('base64') } });
    expect([a.status, code(a)]).toEqual([400, 'BadDigest']);
    expect(await exists('md5')).toBe(false);
  });

  async function streamingPut(key: string, data: Buffer, mutate: (body: Buffer) => Buffer, trailer?: { name: string; value: string }, contentEncoding = 'aws-chunked') {
    const date = new Date();
    const mode = trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    const headers: Record<string, string> = {
      'content-encoding': contentEncoding,
      'x-amz-decoded-content-length': String(data.length),
      ...(trailer ? { 'x-amz-trailer': trailer.name } : {}),
    };
    const probe = signedChunkedBody(data, 64 * 1024, '0'.repeat(64), date, ROOT.secretKey, trailer);
    headers['content-length'] = String(probe.length);
    const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}/${key}`, headers }, { date, payloadHash: mode });
    const body = mutate(signedChunkedBody(data, 64 * 1024, s.signature, date, ROOT.secretKey, trailer));
    return raw('PUT', s.url, { ...s.headers, 'content-length': String(body.length) }, body);
  }

  test('aws-chunked signed: a valid body is stored byte-exact', async () => {
    const data = Buffer.alloc(300_000, 'abc');
    const a = await streamingPut('chunked-ok', data, (b) => b);
    expect(a.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'chunked-ok' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(got.ContentEncoding).toBeUndefined(); // aws-chunked is how the body travelled, not the object's
  });

  test('aws-chunked signed: Content-Encoding "gzip, aws-chunked" is stored as gzip', async () => {
    const data = Buffer.alloc(1000, 'gz');
    expect((await streamingPut('chunked-gzip', data, (b) => b, undefined, 'gzip, aws-chunked')).status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'chunked-gzip' }));
    await got.Body!.transformToByteArray();
    expect(got.ContentEncoding).toBe('gzip');
  });

  test('aws-chunked signed: an altered chunk signature late in the stream is SignatureDoesNotMatch', async () => {
    const data = Buffer.alloc(300_000, 'xyz');
    const a = await streamingPut('chunked-bad-sig', data, (b) => {
      const text = b.toString('latin1');
      const at = text.lastIndexOf('chunk-signature=') + 'chunk-signature='.length;
      const flipped = Buffer.from(b);
      flipped[at] = flipped[at] === 0x61 ? 0x62 : 0x61;
      return flipped;
    });
    expect([a.status, code(a)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await exists('chunked-bad-sig')).toBe(false);
  });

  test('aws-chunked signed: altered data is SignatureDoesNotMatch', async () => {
    const data = Buffer.alloc(200_000, 'q');
    const a = await streamingPut('chunked-bad-data', data, (b) => {
      const c = Buffer.from(b);
      c[c.length - 500] ^= 1;
      return c;
    });
    expect([a.status, code(a)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await exists('chunked-bad-data')).toBe(false);
  });

  test('aws-chunked with trailer: a wrong x-amz-checksum-crc32 trailer is BadDigest', async () => {
    const data = Buffer.alloc(100_000, 'w');
    const a = await streamingPut('trailer-bad', data, (b) => b, { name: 'x-amz-checksum-crc32', value: 'AAAAAA==' });
    expect([a.status, code(a)]).toEqual([400, 'BadDigest']);
    expect(await exists('trailer-bad')).toBe(false);
  });

  test('Client_disconnect: a PUT cut off midway leaves no object and the old one intact', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cut', Body: 'original' }));
    const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}/cut`, headers: { 'content-length': String(10_000_000) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    await new Promise<void>((resolve) => {
      const req = http.request(s.url, { method: 'PUT', headers: s.headers });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(3_000_000, 1), () => setTimeout(() => { req.destroy(); resolve(); }, 200));
    });
    await new Promise((r) => setTimeout(r, 300));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cut' }));
    expect(await got.Body!.transformToString()).toBe('original');
  });
});

describe('Expect: 100-continue', () => {
  function put100(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; continued: boolean }> {
    return new Promise((resolve, reject) => {
      let continued = false;
      const req = http.request(url, { method: 'PUT', headers: { ...headers, expect: '100-continue' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, continued }));
      });
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  }

  test('Expect100_badSignature: refused with 403 before the body is asked for', async () => {
    const body = Buffer.alloc(1024 * 1024, 1);
    const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}/continue-bad`, headers: { 'content-length': String(body.length) } }, { keys: { accessKeyId: ROOT.accessKeyId, secretKey: 'wrong' }, payloadHash: 'UNSIGNED-PAYLOAD' });
    expect(await put100(s.url, s.headers, body)).toEqual({ status: 403, continued: false });
  });

  test('Expect100_good: 100 Continue, then the object is stored', async () => {
    const body = Buffer.alloc(1024 * 1024, 2);
    const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}/continue-ok`, headers: { 'content-length': String(body.length) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    expect(await put100(s.url, s.headers, body)).toEqual({ status: 200, continued: true });
    expect(await exists('continue-ok')).toBe(true);
  });
});
