import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  GetObjectCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type CORSRule,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type TestServer, openSuite, closeSuite } from '../harness';
import { signRequest } from './signing';

/**
 * Bucket CORS: the configuration through the AWS SDK, preflights and actual requests over
 * raw fetch, with the headers asserted exactly as S3 sends them (recorded S3 behaviour:
 * AccessForbidden "CORSResponse: ..." refusals, lowercase Allow-Headers, credentials only for
 * a named origin, the three-name Vary).
 */
let server: TestServer;
let s3: S3Client;
const bucket = 'http-cors';
const bare = 'http-cors-none';
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';
/** What every answer to https://app.example.com carries under its rule, errors included. */
const APP_RULE_HEADERS = {
  'access-control-allow-origin': 'https://app.example.com',
  'access-control-allow-methods': 'GET, PUT, HEAD',
  'access-control-expose-headers': 'ETag, x-amz-request-id',
  'access-control-max-age': '3000',
  'access-control-allow-credentials': 'true',
  vary: VARY,
};
const BODY = Buffer.from('cross-origin bytes\n');

const RULES: CORSRule[] = [
  {
    ID: 'app',
    AllowedOrigins: ['https://app.example.com'],
    AllowedMethods: ['GET', 'PUT', 'HEAD'],
    AllowedHeaders: ['Content-Type', 'x-amz-*'],
    ExposeHeaders: ['ETag', 'x-amz-request-id'],
    MaxAgeSeconds: 3000,
  },
  { AllowedOrigins: ['http://*.example.org'], AllowedMethods: ['POST'] },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
];

beforeAll(async () => {
  ({ server, s3 } = await openSuite(bucket));
  await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/file.txt', Body: BODY }));
});
afterAll(() => closeSuite({ server, s3 }));

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function send(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, { method, headers });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

/** The CORS part of an answer: Access-Control-* and Vary, nothing else. */
function cors(a: Answer): Record<string, string> {
  return Object.fromEntries(Object.entries(a.headers).filter(([k]) => k.startsWith('access-control-') || k === 'vary'));
}

function errorOf(a: Answer): Record<string, string> {
  const pick = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(a.body)?.[1];
  const out: Record<string, string> = { status: String(a.status) };
  for (const name of ['Code', 'Message', 'Method', 'ResourceType']) {
    const v = pick(name);
    if (v !== undefined) out[name] = v.replace(/&apos;/g, "'");
  }
  return out;
}

async function sdkError(p: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { name: e.name, status: e.$metadata.httpStatusCode, message: e.message };
    throw e;
  }
  throw new Error('expected an S3 error');
}

const NOT_ALLOWED =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

describe('PutBucketCors / GetBucketCors / DeleteBucketCors', () => {
  test('GetBucketCors: the rules come back as put, in order', async () => {
    const got = await s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
    expect(got.CORSRules).toEqual(RULES);
  });

  test('DeleteBucketCors: 204, then GetBucketCors is NoSuchCORSConfiguration 404; deleting again is 204', async () => {
    const other = 'http-cors-delete';
    await s3.send(new CreateBucketCommand({ Bucket: other }));
    await s3.send(new PutBucketCorsCommand({ Bucket: other, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }] } }));
    const del = await s3.send(new DeleteBucketCorsCommand({ Bucket: other }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    expect(await sdkError(s3.send(new GetBucketCorsCommand({ Bucket: other })))).toEqual({
      name: 'NoSuchCORSConfiguration',
      status: 404,
      message: 'The CORS configuration does not exist',
    });
    expect((await s3.send(new DeleteBucketCorsCommand({ Bucket: other }))).$metadata.httpStatusCode).toBe(204);
    // The preflight agrees: no configuration any more.
    const a = await send('OPTIONS', `/${other}/k`, { Origin: 'https://any.example', 'Access-Control-Request-Method': 'GET' });
    expect(errorOf(a)).toMatchObject({ status: '403', Code: 'AccessForbidden', Message: 'CORSResponse: CORS is not enabled for this bucket.' });
    await s3.send(new DeleteBucketCommand({ Bucket: other }));
  });

  test('PutBucketCors_invalid: unsupported method, two wildcards, no rule, no origin: S3 codes; the old rules stay', async () => {
    const put = (rules: CORSRule[]) => sdkError(s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: rules } })));
    expect(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }])).toEqual({
      name: 'InvalidRequest',
      status: 400,
      message: 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH',
    });
    expect(await put([{ AllowedOrigins: ['https://*.a.*'], AllowedMethods: ['GET'] }])).toEqual({
      name: 'InvalidRequest',
      status: 400,
      message: 'AllowedOrigin "https://*.a.*" can not have more than one wildcard.',
    });
    expect(await put([])).toMatchObject({ name: 'MalformedXML', status: 400 });
    expect(await put([{ AllowedOrigins: [], AllowedMethods: ['GET'] }])).toMatchObject({ name: 'MalformedXML', status: 400 });
    const tooMany = Array.from({ length: 101 }, () => ({ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }));
    expect(await put(tooMany)).toMatchObject({ name: 'InvalidRequest', status: 400 });
    expect((await s3.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules).toEqual(RULES);
  });

  test('PutBucketCors_integrity: without Content-MD5 or a checksum → InvalidRequest; a wrong Content-MD5 → BadDigest', async () => {
    const xml = '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>';
    const put = async (headers: Record<string, string>) => {
      const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}`, query: { cors: '' }, headers, body: xml });
      const res = await fetch(s.url, { method: 'PUT', headers: s.headers, body: xml });
      return errorOf({ status: res.status, headers: {}, body: await res.text() });
    };
    expect(await put({})).toEqual({ status: '400', Code: 'InvalidRequest', Message: 'Missing required header for this request: Content-MD5' });
    const wrong = createHash('md5').update('something else').digest('base64');
    expect(await put({ 'content-md5': wrong })).toMatchObject({ status: '400', Code: 'BadDigest' });
    expect((await s3.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules).toEqual(RULES);
  });
});

describe('preflight OPTIONS (no credentials)', () => {
  test('Preflight_namedOrigin: 200, empty body, exactly the rule’s headers; requested headers echoed lowercase', async () => {
    const a = await send('OPTIONS', `/${bucket}/dir/file.txt`, {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'Content-Type,X-Amz-Meta-Color, x-amz-date',
    });
    expect(a.status).toBe(200);
    expect(a.body).toBe('');
    expect(cors(a)).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, PUT, HEAD',
      'access-control-allow-headers': 'content-type, x-amz-meta-color, x-amz-date',
      'access-control-expose-headers': 'ETag, x-amz-request-id',
      'access-control-max-age': '3000',
      'access-control-allow-credentials': 'true',
      vary: VARY,
    });
  });

  test('Preflight_wildcards: a `*.example.org` origin is echoed; the `*` rule answers `*` without credentials', async () => {
    const sub = await send('OPTIONS', `/${bucket}`, { Origin: 'http://upload.example.org', 'Access-Control-Request-Method': 'POST' });
    expect(sub.status).toBe(200);
    expect(cors(sub)).toEqual({
      'access-control-allow-origin': 'http://upload.example.org',
      'access-control-allow-methods': 'POST',
      'access-control-allow-credentials': 'true',
      vary: VARY,
    });
    const any = await send('OPTIONS', `/${bucket}/dir/file.txt`, { Origin: 'http://elsewhere.test:8080', 'Access-Control-Request-Method': 'GET' });
    expect(any.status).toBe(200);
    expect(cors(any)).toEqual({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET', vary: VARY });
  });

  test('Preflight_refused: no matching rule → 403 AccessForbidden with Method and ResourceType, no CORS headers', async () => {
    const cases: [string, Record<string, string>, string][] = [
      // The bare domain does not match `http://*.example.org`, and the `*` rule allows GET only.
      [`/${bucket}`, { Origin: 'http://example.org', 'Access-Control-Request-Method': 'POST' }, 'BUCKET'],
      // A header the rule does not allow.
      [`/${bucket}/dir/file.txt`, { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' }, 'OBJECT'],
      // Origins match exactly: scheme, host and port.
      [`/${bucket}/dir/file.txt`, { Origin: 'http://app.example.com', 'Access-Control-Request-Method': 'PUT' }, 'OBJECT'],
    ];
    for (const [path, headers, resourceType] of cases) {
      const a = await send('OPTIONS', path, headers);
      expect(errorOf(a)).toEqual({ status: '403', Code: 'AccessForbidden', Message: NOT_ALLOWED, Method: headers['Access-Control-Request-Method'], ResourceType: resourceType });
      expect(cors(a)).toEqual({});
    }
  });

  test('Preflight_badRequests: no Origin, no or unknown Access-Control-Request-Method → 400 BadRequest', async () => {
    expect(errorOf(await send('OPTIONS', `/${bucket}/k`, { 'Access-Control-Request-Method': 'GET' }))).toEqual({
      status: '400',
      Code: 'BadRequest',
      Message: 'Insufficient information. Origin request header needed.',
    });
    expect(errorOf(await send('OPTIONS', `/${bucket}/k`, { Origin: 'https://app.example.com' }))).toEqual({
      status: '400',
      Code: 'BadRequest',
      Message: 'Invalid Access-Control-Request-Method: null',
    });
    expect(errorOf(await send('OPTIONS', `/${bucket}/k`, { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'PATCH' }))).toEqual({
      status: '400',
      Code: 'BadRequest',
      Message: 'Invalid Access-Control-Request-Method: PATCH',
    });
  });

  test('Preflight_noConfiguration_noBucket: 403 AccessForbidden, ResourceType BUCKET', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bare }));
    const none = await send('OPTIONS', `/${bare}/some/key`, { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'PUT' });
    expect(errorOf(none)).toEqual({ status: '403', Code: 'AccessForbidden', Message: 'CORSResponse: CORS is not enabled for this bucket.', Method: 'PUT', ResourceType: 'BUCKET' });
    const missing = await send('OPTIONS', '/no-such-bucket-cors/key', { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'GET' });
    expect(errorOf(missing)).toEqual({ status: '403', Code: 'AccessForbidden', Message: 'CORSResponse: Bucket not found', Method: 'GET', ResourceType: 'BUCKET' });
    await s3.send(new DeleteBucketCommand({ Bucket: bare }));
  });
});

describe('actual cross-origin requests', () => {
  async function presignedGet(key: string): Promise<string> {
    return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
  }

  test('GET_matchingOrigin: the bytes, with Allow-Origin, Allow-Methods, Expose-Headers, Max-Age, credentials, Vary', async () => {
    const res = await fetch(await presignedGet('dir/file.txt'), { headers: { Origin: 'https://app.example.com' } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(BODY)).toBe(true);
    expect(cors({ status: res.status, headers: Object.fromEntries(res.headers), body: '' })).toEqual(APP_RULE_HEADERS);
  });

  test('GET_otherOrigins: `*` rule → `*`; no Origin or a method no rule allows → no CORS headers at all', async () => {
    const url = await presignedGet('dir/file.txt');
    const any = await fetch(url, { headers: { Origin: 'https://unknown.test' } });
    expect(cors({ status: any.status, headers: Object.fromEntries(any.headers), body: await any.text() })).toEqual({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET',
      vary: VARY,
    });
    const plain = await fetch(url);
    expect(cors({ status: plain.status, headers: Object.fromEntries(plain.headers), body: await plain.text() })).toEqual({});
    // The method a preflight announced decides: no rule lets https://unknown.test DELETE.
    const announced = await fetch(url, { headers: { Origin: 'https://unknown.test', 'Access-Control-Request-Method': 'DELETE' } });
    expect(announced.status).toBe(200);
    expect(cors({ status: announced.status, headers: Object.fromEntries(announced.headers), body: await announced.text() })).toEqual({});
  });

  test('Errors_carryCors: NoSuchKey 404 and an anonymous AccessDenied 403 keep the rule’s headers', async () => {
    const missing = await fetch(await presignedGet('no/such/key'), { headers: { Origin: 'https://app.example.com' } });
    const body = await missing.text();
    expect(errorOf({ status: missing.status, headers: {}, body })).toMatchObject({ status: '404', Code: 'NoSuchKey' });
    expect(missing.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(missing.headers.get('access-control-allow-credentials')).toBe('true');
    expect(missing.headers.get('vary')).toBe(VARY);

    const anonymous = await send('PUT', `/${bucket}/anon.txt`, { Origin: 'https://app.example.com' });
    expect(errorOf(anonymous)).toMatchObject({ status: '403', Code: 'AccessDenied' });
    expect(cors(anonymous)).toEqual(APP_RULE_HEADERS);
  });
});
