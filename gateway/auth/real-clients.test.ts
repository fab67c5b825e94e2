import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { decodeAwsChunked } from '../body/aws-chunked';
import { BodyDigests, checksumAlgorithms, declaredChecksums, verifyChecksums } from '../body/checksums';
import { isS3Error } from '../protocol/errors';
import { StaticIdentity, authenticate, type AuthResult } from '.';

/** A minimal S3 endpoint: authenticates, decodes and verifies the body, stores objects in a Map. */
interface Seen {
  method: string;
  url: string;
  payload: AuthResult['payload']['mode'] | 'anonymous';
  signedChunks: boolean;
  verified: object;
}

const CRED = { accessKeyId: 'AKIDREAL', secretKey: 'real/secret+key=', owner: 'o', displayName: 'd' };
const objects = new Map<string, Buffer>();
const seen: Seen[] = [];
let server: Server;
let endpoint: string;

async function handle(req: IncomingMessage): Promise<{ status: number; body: string | Buffer; headers?: Record<string, string> }> {
  const url = req.url!;
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const auth = await authenticate({ method: req.method!, rawPath, rawQuery, headers: req.headers, rawHeaders: req.rawHeaders }, new StaticIdentity([CRED]));
  if (auth.principal.anonymous) return { status: 403, body: '<Error><Code>AccessDenied</Code></Error>' };
  const key = decodeURIComponent(rawPath);
  if (req.method === 'PUT') {
    const declared = declaredChecksums(req.headers);
    const algorithms = checksumAlgorithms(declared);
    if (auth.payload.mode === 'sha256') algorithms.add('SHA256');
    const digests = new BodyDigests(algorithms);
    let trailers: Record<string, string> = {};
    const body =
      auth.payload.mode === 'streaming'
        ? decodeAwsChunked(req, auth.payload, { decodedLength: Number(req.headers['x-amz-decoded-content-length']), onTrailers: (t) => (trailers = t) })
        : req;
    const parts: Buffer[] = [];
    for await (const piece of body) {
      parts.push(piece);
      digests.update(piece);
    }
    if (auth.payload.mode === 'sha256' && (await digests.digest('SHA256')).toString('hex') !== auth.payload.expectedHex) {
      return { status: 400, body: '<Error><Code>XAmzContentSHA256Mismatch</Code></Error>' };
    }
    const verified = await verifyChecksums(declared, trailers, digests);
    seen.push({ method: 'PUT', url, payload: auth.payload.mode, signedChunks: auth.payload.mode === 'streaming' && !!auth.payload.signer, verified });
    objects.set(key, Buffer.concat(parts));
    return { status: 200, body: '', headers: { etag: `"${digests.md5Hex()}"` } };
  }
  for await (const _ of req);
  seen.push({ method: req.method!, url, payload: auth.payload.mode, signedChunks: false, verified: {} });
  if (new URLSearchParams(rawQuery).get('list-type') === '2') {
    return { status: 200, body: '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>', headers: { 'content-type': 'application/xml' } };
  }
  const object = objects.get(key);
  if (!object) return { status: 404, body: '<Error><Code>NoSuchKey</Code></Error>' };
  return { status: 200, body: object, headers: { 'content-length': String(object.length) } };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req).then(
      (r) => {
        res.writeHead(r.status, r.headers).end(r.body);
      },
      (e) => {
        const code = isS3Error(e) ? e.code : 'InternalError';
        res.writeHead(isS3Error(e) ? e.status : 500, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code><Message>${String(e.message)}</Message></Error>`);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  objects.clear();
  seen.length = 0;
});

function client(secret = CRED.secretKey): S3Client {
  return new S3Client({
    endpoint,
    region: 'eu-central-1',
    forcePathStyle: true,
    credentials: { accessKeyId: CRED.accessKeyId, secretAccessKey: secret },
    maxAttempts: 1,
  });
}

const KEYS = ['plain', 'a b+c', '100%/ü/中😀', '../x/./y', 'a//b', "!*'()~=&;:@$,", 'trailing/', '%2F'];

describe('the AWS SDK for JavaScript v3 against authenticate()', () => {
  it.each(KEYS)('puts (buffer and stream) and gets the key %j', async (key) => {
    const s3 = client();
    const data = Buffer.from(`content of ${key}`);
    await s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: key, Body: data, Metadata: { note: 'x  y' } }));
    const stream = Buffer.alloc(200_000, 7);
    await s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: `${key}.stream`, Body: Readable.from([stream.subarray(0, 70_000), stream.subarray(70_000)]), ContentLength: stream.length }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(objects.get(`/bucket/${key}.stream`)!.equals(stream)).toBe(true);
    // The SDK sends a stream aws-chunked with a checksum trailer, which got verified.
    const streamed = seen.find((s) => s.method === 'PUT' && s.url.includes('.stream'))!;
    expect(streamed.payload).toBe('streaming');
    expect(Object.keys(streamed.verified)).toHaveLength(1);
  });

  it('lists with an odd prefix and delimiter', async () => {
    await client().send(new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'a b+c/ü%&=', Delimiter: '/', StartAfter: '~!*' }));
    expect(seen[0]!.url).toContain('list-type=2');
  });

  it('is refused with a wrong secret', async () => {
    const e = await client('wrong').send(new GetObjectCommand({ Bucket: 'bucket', Key: 'k' })).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(S3ServiceException);
    expect((e as S3ServiceException).name).toBe('SignatureDoesNotMatch');
  });

  it.each(KEYS)('presigns GET and PUT for the key %j', async (key) => {
    const s3 = client();
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'bucket', Key: key }), { expiresIn: 600 });
    const body = Buffer.from('presigned body');
    const put = await send(putUrl, 'PUT', body);
    expect(put.status).toBe(200);
    expect(objects.get(`/bucket/${key}`)!.equals(body)).toBe(true);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'bucket', Key: key, ResponseContentType: 'text/plain; x=1' }), { expiresIn: 600 });
    const get = await send(getUrl, 'GET');
    expect([get.status, get.body.toString()]).toEqual([200, 'presigned body']);
    const tampered = await send(getUrl.replace('X-Amz-Expires=600', 'X-Amz-Expires=601'), 'GET');
    expect(tampered.status).toBe(403);
  });
});

function send(url: string, method: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // Not http.request(url): WHATWG URL parsing would resolve the dot segments of the key.
    const { hostname, port } = new URL(url);
    const path = url.slice(url.indexOf('/', 'http://'.length));
    const headers = body ? { 'content-length': String(body.length) } : {};
    const req = httpRequest({ hostname, port, path, method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
