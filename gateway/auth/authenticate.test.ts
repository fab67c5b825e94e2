import { SignatureV4 } from '@smithy/signature-v4';
import { s3Failure } from '../protocol/errors.testing';
import type { Checksum, SourceData } from '@smithy/types';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { StaticIdentity, authenticate, type AuthInput, type Credential } from '.';
import { signingKey } from './signing-key';

/** SHA-256 / HMAC-SHA256 for the SDK signer, on node:crypto. */
class NodeSha256 implements Checksum {
  private h!: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.reset();
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
}
function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const ALICE: Credential = { accessKeyId: 'AKIDALICE', secretKey: 'alice/secret+key', owner: 'o-alice', displayName: 'alice' };
const identity = new StaticIdentity([ALICE]);
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const HOST = 'localhost:9000';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function sdkSigner(secret = ALICE.secretKey, accessKeyId = ALICE.accessKeyId, region = 'us-east-1'): SignatureV4 {
  return new SignatureV4({
    service: 's3',
    region,
    credentials: { accessKeyId, secretAccessKey: secret },
    sha256: NodeSha256,
    uriEscapePath: false, // as the S3 client: the path is already encoded once
  });
}

/** Encodes like the S3 client: each key segment with encodeURIComponent plus !'()*. */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
function encodeKey(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}
type Query = Record<string, string | string[] | null>;
function queryString(query: Query = {}): string {
  return Object.entries(query)
    .flatMap(([k, v]) => (v === null ? [encodeSegment(k)] : (Array.isArray(v) ? v : [v]).map((x) => `${encodeSegment(k)}=${encodeSegment(x)}`)))
    .join('&');
}
function lower(headers: Record<string, string>): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

interface Req {
  method?: string;
  path: string;
  query?: Query;
  headers?: Record<string, string>;
}

async function signHeader(req: Req, opts: { signer?: SignatureV4; at?: number } = {}): Promise<AuthInput> {
  const signed = await (opts.signer ?? sdkSigner()).sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 9000,
      path: req.path,
      query: (req.query ?? {}) as Record<string, string>,
      headers: { host: HOST, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...req.headers },
    },
    { signingDate: new Date(opts.at ?? NOW) },
  );
  return { method: signed.method, rawPath: signed.path, rawQuery: queryString(signed.query as Query), headers: lower(signed.headers) };
}

async function presign(req: Req, opts: { signer?: SignatureV4; at?: number; expiresIn?: number } = {}): Promise<AuthInput> {
  const signed = await (opts.signer ?? sdkSigner()).presign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      port: 9000,
      path: req.path,
      query: (req.query ?? {}) as Record<string, string>,
      // As the S3 presigner does: hoisted to X-Amz-Content-Sha256 in the query.
      headers: { host: HOST, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', ...req.headers },
    },
    { signingDate: new Date(opts.at ?? NOW), expiresIn: opts.expiresIn ?? 3600 },
  );
  return { method: signed.method, rawPath: signed.path, rawQuery: queryString(signed.query as Query), headers: lower(signed.headers) };
}


const ODD_KEYS = [
  'plain.txt',
  'a b',
  'a+b',
  '100%',
  '%41',
  'ü/中/😀',
  '../x',
  './..',
  'a//b',
  '/leading',
  'trailing/',
  'a?b#c',
  "!*'()",
  'tab\there',
  'x~y_z-w.v',
  'a=b&c;d:e@f$g,h',
  ' ',
];

describe('header auth', () => {
  it.each(ODD_KEYS)('verifies a request for the key %j', async (key) => {
    const input = await signHeader({ method: 'PUT', path: `/bucket/${encodeKey(key)}`, headers: { 'x-amz-meta-k': 'v  with   spaces ' } });
    const result = await authenticate(input, identity, NOW);
    expect(result.principal).toEqual({ anonymous: false, credential: ALICE });
    expect(result.payload).toEqual({ mode: 'unsigned' });
  });

  it('verifies odd query values, and any encoding of the same bytes', async () => {
    const query = { prefix: 'a b+c/ü%', delimiter: '/', 'list-type': '2', 'encoding-type': 'url' };
    const input = await signHeader({ path: '/bucket', query });
    await expect(authenticate(input, identity, NOW)).resolves.toMatchObject({ principal: { anonymous: false } });
    // Same bytes, other spelling: lower-case hex, '+' for space, '/' and '!' left bare, another order.
    const respelled = 'encoding-type=url&delimiter=/&list-type=2&prefix=a+b%2bc%2f%c3%bc%25';
    await expect(authenticate({ ...input, rawQuery: respelled }, identity, NOW)).resolves.toBeDefined();
  });

  it('accepts another spelling of the same path', async () => {
    const input = await signHeader({ path: '/bucket/a%2Bb%21' });
    await expect(authenticate({ ...input, rawPath: '/bucket/a%2bb!' }, identity, NOW)).resolves.toBeDefined();
  });

  it('accepts any region, signed with that region', async () => {
    const input = await signHeader({ path: '/bucket/k' }, { signer: sdkSigner(undefined, undefined, 'eu-north-7') });
    expect(input.headers.authorization).toContain('/eu-north-7/s3/aws4_request');
    await expect(authenticate(input, identity, NOW)).resolves.toBeDefined();
  });

  it('joins repeated headers with a comma when raw headers are given', async () => {
    const input = await signHeader({ path: '/bucket/k', headers: { 'x-amz-meta-list': '1,2' } });
    const rawHeaders = Object.entries(input.headers).flatMap(([k, v]) => (k === 'x-amz-meta-list' ? [k, '1', k, ' 2'] : [k, String(v)]));
    await expect(authenticate({ ...input, rawHeaders, headers: { ...input.headers, 'x-amz-meta-list': '1, 2' } }, identity, NOW)).resolves.toBeDefined();
  });

  it('reads the payload mode from x-amz-content-sha256', async () => {
    const sha = createHash('sha256').update('hello').digest('hex');
    const cases: Array<[string, object]> = [
      [sha, { mode: 'sha256', expectedHex: sha }],
      [sha.toUpperCase(), { mode: 'sha256', expectedHex: sha }],
      ['UNSIGNED-PAYLOAD', { mode: 'unsigned' }],
      ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { mode: 'streaming', trailer: true, trailerNames: ['x-amz-checksum-crc32'] }],
    ];
    for (const [value, payload] of cases) {
      const input = await signHeader({ method: 'PUT', path: '/b/k', headers: { 'x-amz-content-sha256': value, 'x-amz-trailer': 'x-amz-checksum-crc32' } });
      expect((await authenticate(input, identity, NOW)).payload).toEqual(payload);
    }
    for (const [value, trailer] of [
      ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', false],
      ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', true],
    ] as const) {
      const input = await signHeader({ method: 'PUT', path: '/b/k', headers: { 'x-amz-content-sha256': value } });
      const { payload } = await authenticate(input, identity, NOW);
      expect(payload).toMatchObject({ mode: 'streaming', trailer });
      const signature = /Signature=([0-9a-f]{64})/.exec(String(input.headers.authorization))![1];
      expect(payload.mode === 'streaming' && payload.signer?.seedSignature).toBe(signature);
      expect(JSON.stringify(payload)).not.toContain(signingKey(ALICE.secretKey, '20260101', 'us-east-1', 's3').toString('hex'));
    }
  });

  it('refuses a wrong secret without revealing any secret', async () => {
    const input = await signHeader({ path: '/bucket/k', headers: { 'x-amz-security-token': 'session-token-value' } }, { signer: sdkSigner('not the secret') });
    const e = await s3Failure(authenticate(input, identity, NOW));
    expect(e.code).toBe('SignatureDoesNotMatch');
    expect(e.status).toBe(403);
    expect(e.fields).toMatchObject({ AWSAccessKeyId: ALICE.accessKeyId });
    expect(e.fields.StringToSign).toMatch(/^AWS4-HMAC-SHA256\n20260101T120000Z\n20260101\/us-east-1\/s3\/aws4_request\n[0-9a-f]{64}$/);
    const everything = JSON.stringify({ message: e.message, fields: e.fields, stack: e.stack });
    expect(everything).not.toContain(ALICE.secretKey);
    expect(everything).not.toContain('session-token-value');
  });

  it('refuses an unknown access key', async () => {
    const input = await signHeader({ path: '/bucket/k' }, { signer: sdkSigner('x', 'AKIDNOBODY') });
    const e = await s3Failure(authenticate(input, identity, NOW));
    expect([e.code, e.status, e.fields.AWSAccessKeyId]).toEqual(['InvalidAccessKeyId', 403, 'AKIDNOBODY']);
  });

  it.each<[string, (i: AuthInput) => AuthInput]>([
    ['the method', (i) => ({ ...i, method: 'DELETE' })],
    ['the path', (i) => ({ ...i, rawPath: i.rawPath + 'x' })],
    ['a dot segment', (i) => ({ ...i, rawPath: '/bucket/./key' })],
    ['a doubled slash', (i) => ({ ...i, rawPath: '/bucket//key' })],
    ['a query value', (i) => ({ ...i, rawQuery: 'versionId=2' })],
    ['an added query parameter', (i) => ({ ...i, rawQuery: 'versionId=1&acl' })],
    ['a signed header', (i) => ({ ...i, headers: { ...i.headers, range: 'bytes=0-1' } })],
    ['the host', (i) => ({ ...i, headers: { ...i.headers, host: 'evil:9000' } })],
    ['the payload hash', (i) => ({ ...i, headers: { ...i.headers, 'x-amz-content-sha256': EMPTY_SHA256 } })],
    ['the signature', (i) => ({ ...i, headers: { ...i.headers, authorization: String(i.headers.authorization).replace(/.$/, (c) => (c === '0' ? '1' : '0')) } })],
  ])('refuses a change of %s', async (_what, change) => {
    const input = await signHeader({ path: '/bucket/key', query: { versionId: '1' }, headers: { range: 'bytes=0-9' } });
    await expect(authenticate(input, identity, NOW)).resolves.toBeDefined();
    expect((await s3Failure(authenticate(change(input), identity, NOW))).code).toBe('SignatureDoesNotMatch');
  });

  it('refuses a request whose signed header is missing', async () => {
    const input = await signHeader({ path: '/bucket/key', headers: { range: 'bytes=0-9' } });
    const { range: _range, ...headers } = input.headers;
    expect((await s3Failure(authenticate({ ...input, headers }, identity, NOW))).code).toBe('SignatureDoesNotMatch');
  });

  it('refuses x-amz-* headers that were not signed, and an unsigned host', async () => {
    const input = await signHeader({ path: '/bucket/key' });
    const e = await s3Failure(authenticate({ ...input, headers: { ...input.headers, 'x-amz-acl': 'public-read' } }, identity, NOW));
    expect([e.code, e.fields.HeadersNotSigned]).toEqual(['AccessDenied', 'x-amz-acl']);
    const noHost = String(input.headers.authorization).replace('SignedHeaders=host;', 'SignedHeaders=');
    const e2 = await s3Failure(authenticate({ ...input, headers: { ...input.headers, authorization: noHost } }, identity, NOW));
    expect([e2.code, e2.fields.HeadersNotSigned]).toEqual(['AccessDenied', 'host']);
  });

  it.each([
    ['16 minutes early', -16 * 60_000, 'RequestTimeTooSkewed'],
    ['16 minutes late', 16 * 60_000, 'RequestTimeTooSkewed'],
    ['14 minutes early', -14 * 60_000, undefined],
    ['14 minutes late', 14 * 60_000, undefined],
  ])('with a clock %s: %s', async (_what, offset, code) => {
    const input = await signHeader({ path: '/bucket/key' }, { at: NOW + offset });
    if (!code) return void (await expect(authenticate(input, identity, NOW)).resolves.toBeDefined());
    const e = await s3Failure(authenticate(input, identity, NOW));
    expect(e.code).toBe(code);
    expect(e.status).toBe(403);
    expect(e.fields).toEqual({
      RequestTime: input.headers['x-amz-date'],
      ServerTime: '2026-01-01T12:00:00Z',
      MaxAllowedSkewMilliseconds: '900000',
    });
  });

  it.each<[string, (auth: string) => string, string, RegExp?]>([
    ['a missing Signature', (a) => a.replace(/, Signature=.*/, ''), 'AuthorizationHeaderMalformed', /missing Signature/],
    ['a missing SignedHeaders', (a) => a.replace(/ SignedHeaders=[^,]*,/, ''), 'AuthorizationHeaderMalformed', /missing SignedHeaders/],
    ['an unknown component', (a) => a + ', Foo=bar', 'AuthorizationHeaderMalformed', /component "Foo=bar"/],
    ['a repeated component', (a) => a + ', Signature=00', 'AuthorizationHeaderMalformed', undefined],
    ['a short credential', (a) => a.replace('/us-east-1/', '/'), 'AuthorizationHeaderMalformed', /mal-formed/],
    ['a bad credential date', (a) => a.replace('/20260101/', '/2026011/'), 'AuthorizationHeaderMalformed', /incorrect date format "2026011"/],
    ['another day in the scope', (a) => a.replace('/20260101/', '/20260102/'), 'AuthorizationHeaderMalformed', /Invalid credential date/],
    ['another service', (a) => a.replace('/s3/', '/ec2/'), 'AuthorizationHeaderMalformed', /incorrect service "ec2"/],
    ['another terminal', (a) => a.replace('aws4_request', 'aws5_request'), 'AuthorizationHeaderMalformed', /incorrect terminal "aws5_request"/],
    ['SigV2', () => 'AWS AKIDALICE:c2lnbmF0dXJl', 'InvalidRequest', /Please use AWS4-HMAC-SHA256/],
    ['SigV4A', (a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'), 'InvalidRequest', /Please use AWS4-HMAC-SHA256/],
    ['no space', () => 'AWS4-HMAC-SHA256', 'InvalidArgument', /one and only one ' ' \(space\)/],
    ['an empty value', () => '', 'InvalidArgument', undefined],
  ])('refuses an Authorization header with %s', async (_what, edit, code, message) => {
    const input = await signHeader({ path: '/bucket/key' });
    const authorization = edit(String(input.headers.authorization));
    const e = await s3Failure(authenticate({ ...input, headers: { ...input.headers, authorization } }, identity, NOW));
    expect(e.code).toBe(code);
    if (message) expect(e.message).toMatch(message);
  });

  it('requires x-amz-content-sha256 with a value S3 knows', async () => {
    const input = await signHeader({ path: '/bucket/key' });
    const { 'x-amz-content-sha256': _, ...headers } = input.headers;
    const missing = await s3Failure(authenticate({ ...input, headers }, identity, NOW));
    expect([missing.code, missing.message]).toEqual(['InvalidRequest', 'Missing required header for this request: x-amz-content-sha256']);
    const bad = await s3Failure(authenticate({ ...input, headers: { ...headers, 'x-amz-content-sha256': 'STREAMING-SOMETHING' } }, identity, NOW));
    expect([bad.code, bad.fields.ArgumentName, bad.fields.ArgumentValue]).toEqual(['InvalidArgument', 'x-amz-content-sha256', 'STREAMING-SOMETHING']);
  });

  it('requires a date', async () => {
    const input = await signHeader({ path: '/bucket/key' });
    const { 'x-amz-date': _, ...headers } = input.headers;
    const e = await s3Failure(authenticate({ ...input, headers }, identity, NOW));
    expect([e.code, e.message]).toEqual(['AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header']);
    const bad = await s3Failure(authenticate({ ...input, headers: { ...headers, 'x-amz-date': '20261301T000000Z' } }, identity, NOW));
    expect(bad.code).toBe('AccessDenied');
  });

  it('refuses the Authorization header and a presigned query together', async () => {
    const input = await signHeader({ path: '/bucket/key' });
    const e = await s3Failure(authenticate({ ...input, rawQuery: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' }, identity, NOW));
    expect([e.code, e.message]).toEqual([
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    ]);
  });
});

describe('presigned URLs', () => {
  it.each(ODD_KEYS)('verifies a URL for the key %j', async (key) => {
    const input = await presign({ path: `/bucket/${encodeKey(key)}`, query: { 'response-content-type': 'text/plain; charset=utf-8' } });
    const result = await authenticate(input, identity, NOW);
    expect(result).toEqual({ principal: { anonymous: false, credential: ALICE }, payload: { mode: 'unsigned' }, signatureVersion: 'AWS4-HMAC-SHA256' });
  });

  it('verifies a PUT with signed headers and a security token', async () => {
    const input = await presign({ method: 'PUT', path: '/bucket/k', headers: { 'content-type': 'image/png' } }, { signer: new SignatureV4({ service: 's3', region: 'us-east-1', sha256: NodeSha256, uriEscapePath: false, credentials: { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretKey, sessionToken: 'tok' } }) });
    expect(input.rawQuery).toContain('X-Amz-Security-Token=tok');
    expect(input.rawQuery).toContain('content-type');
    await expect(authenticate(input, identity, NOW)).resolves.toBeDefined();
    const e = await s3Failure(authenticate({ ...input, headers: { ...input.headers, 'content-type': 'text/html' } }, identity, NOW));
    expect(e.code).toBe('SignatureDoesNotMatch');
    expect(e.fields.CanonicalRequest).toContain('X-Amz-Security-Token=<redacted>');
  });

  it('uses x-amz-content-sha256 as the payload hash when the client sends it', async () => {
    const sha = createHash('sha256').update('body').digest('hex');
    const input = await presign({ method: 'PUT', path: '/bucket/k' });
    // Sent after presigning: not signed, so it changes the canonical request and the signature fails.
    const e = await s3Failure(authenticate({ ...input, headers: { ...input.headers, 'x-amz-content-sha256': sha } }, identity, NOW));
    expect(e.code).toBe('SignatureDoesNotMatch');
    expect(e.fields.CanonicalRequest).toMatch(new RegExp(`\n${sha}$`));
  });

  it.each<[string, (q: string) => string]>([
    ['a changed parameter', (q) => q.replace('X-Amz-Expires=3600', 'X-Amz-Expires=3599')],
    ['an added parameter', (q) => q + '&versionId=2'],
    ['a removed parameter', (q) => q.replace(/&?versionId=1/, '')],
    ['a changed signature', (q) => q.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`)],
  ])('refuses %s', async (_what, edit) => {
    const input = await presign({ path: '/bucket/k', query: { versionId: '1' } });
    await expect(authenticate(input, identity, NOW)).resolves.toBeDefined();
    expect((await s3Failure(authenticate({ ...input, rawQuery: edit(input.rawQuery) }, identity, NOW))).code).toBe('SignatureDoesNotMatch');
  });

  it('refuses an expired URL, with the times', async () => {
    const input = await presign({ path: '/bucket/k' }, { at: NOW - 3601_000, expiresIn: 3600 });
    const e = await s3Failure(authenticate(input, identity, NOW));
    expect([e.code, e.status, e.message]).toEqual(['AccessDenied', 403, 'Request has expired']);
    expect(e.fields).toEqual({ 'X-Amz-Expires': '3600', Expires: '2026-01-01T11:59:59Z', ServerTime: '2026-01-01T12:00:00Z' });
    await expect(authenticate(input, identity, NOW - 1000)).resolves.toBeDefined();
  });

  it('refuses a URL dated more than 15 minutes ahead', async () => {
    const input = await presign({ path: '/bucket/k' }, { at: NOW + 16 * 60_000 });
    const e = await s3Failure(authenticate(input, identity, NOW));
    expect([e.code, e.message]).toEqual(['AccessDenied', 'Request is not yet valid']);
    await expect(authenticate(await presign({ path: '/bucket/k' }, { at: NOW + 14 * 60_000 }), identity, NOW)).resolves.toBeDefined();
  });

  it.each([
    ['604801', 'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds'],
    ['0', 'X-Amz-Expires must be at least 1 second'],
    ['-1', 'X-Amz-Expires must be non-negative'],
    ['1h', 'X-Amz-Expires should be a number'],
  ])('refuses X-Amz-Expires=%s', async (value, message) => {
    const input = await presign({ path: '/bucket/k' });
    const e = await s3Failure(authenticate({ ...input, rawQuery: input.rawQuery.replace('X-Amz-Expires=3600', `X-Amz-Expires=${value}`) }, identity, NOW));
    expect([e.code, e.message]).toEqual(['AuthorizationQueryParametersError', message]);
  });

  it('accepts the full week', async () => {
    const input = await presign({ path: '/bucket/k' }, { at: NOW - 604700_000, expiresIn: 604800 });
    await expect(authenticate(input, identity, NOW)).resolves.toBeDefined();
  });

  it.each(['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Algorithm'])(
    'refuses a URL without %s',
    async (name) => {
      const input = await presign({ path: '/bucket/k' });
      const rawQuery = input.rawQuery.split('&').filter((p) => !p.startsWith(`${name}=`)).join('&');
      const e = await s3Failure(authenticate({ ...input, rawQuery }, identity, NOW));
      expect(e.code).toBe('AuthorizationQueryParametersError');
      expect(e.message).toMatch(/^Query-string authentication version 4 requires/);
    },
  );

  it.each<[string, (q: string) => string, RegExp]>([
    ['another algorithm', (q) => q.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1'), /X-Amz-Algorithm only supports/],
    ['a malformed date', (q) => q.replace(/X-Amz-Date=\w+/, 'X-Amz-Date=2026-01-01T12%3A00%3A00Z'), /ISO8601 Long Format/],
    ['another service', (q) => q.replace('%2Fs3%2F', '%2Fsts%2F'), /incorrect service "sts"/],
    ['another day', (q) => q.replace('%2F20260101%2F', '%2F20251231%2F'), /Invalid credential date "20251231"/],
  ])('refuses %s', async (_what, edit, message) => {
    const input = await presign({ path: '/bucket/k' });
    const e = await s3Failure(authenticate({ ...input, rawQuery: edit(input.rawQuery) }, identity, NOW));
    expect(e.code).toBe('AuthorizationQueryParametersError');
    expect(e.message).toMatch(message);
  });

  it('refuses SigV2 query authentication', async () => {
    const input: AuthInput = { method: 'GET', rawPath: '/b/k', rawQuery: 'AWSAccessKeyId=AKIDALICE&Expires=1&Signature=abc', headers: { host: HOST } };
    expect((await s3Failure(authenticate(input, identity, NOW))).code).toBe('InvalidRequest');
  });
});

describe('anonymous requests', () => {
  it('have no principal and an unsigned payload', async () => {
    const input: AuthInput = { method: 'GET', rawPath: '/bucket/key', rawQuery: 'acl', headers: { host: HOST } };
    expect(await authenticate(input, identity, NOW)).toEqual({ principal: { anonymous: true }, payload: { mode: 'unsigned' } });
  });
  it('still say how the body is framed', async () => {
    const input: AuthInput = { method: 'PUT', rawPath: '/b/k', rawQuery: '', headers: { host: HOST, 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-trailer': 'x-amz-checksum-crc32c' } };
    expect((await authenticate(input, identity, NOW)).payload).toEqual({ mode: 'streaming', trailer: true, trailerNames: ['x-amz-checksum-crc32c'] });
  });
});

describe('the AWS documentation examples', () => {
  const EXAMPLE: Credential = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', owner: 'o', displayName: 'example' };
  const examples = new StaticIdentity([EXAMPLE]);
  const AT = Date.UTC(2013, 4, 24);
  const host = 'examplebucket.s3.amazonaws.com';
  const auth = (signedHeaders: string, signature: string) =>
    `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`;

  it('GET Object with a Range', async () => {
    const headers = {
      host,
      range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': '20130524T000000Z',
      authorization: auth('host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'),
    };
    const result = await authenticate({ method: 'GET', rawPath: '/test.txt', rawQuery: '', headers }, examples, AT);
    expect(result).toEqual({ principal: { anonymous: false, credential: EXAMPLE }, payload: { mode: 'sha256', expectedHex: EMPTY_SHA256 }, signatureVersion: 'AWS4-HMAC-SHA256' });
  });

  it('PUT Object with a Date header and a $ in the key', async () => {
    const payload = createHash('sha256').update('Welcome to Amazon S3.').digest('hex');
    const headers = {
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      host,
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': payload,
      authorization: auth('date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class', '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd'),
    };
    await expect(authenticate({ method: 'PUT', rawPath: '/test$file.text', rawQuery: '', headers }, examples, AT)).resolves.toBeDefined();
    await expect(authenticate({ method: 'PUT', rawPath: '/test%24file.text', rawQuery: '', headers }, examples, AT)).resolves.toBeDefined();
  });

  it.each([
    ['lifecycle', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'],
    ['max-keys=2&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'],
  ])('GET Bucket ?%s', async (rawQuery, signature) => {
    const headers = {
      host,
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': '20130524T000000Z',
      authorization: auth('host;x-amz-content-sha256;x-amz-date', signature),
    };
    await expect(authenticate({ method: 'GET', rawPath: '/', rawQuery, headers }, examples, AT)).resolves.toBeDefined();
  });

  it('presigned GET Object', async () => {
    const rawQuery =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const input = { method: 'GET', rawPath: '/test.txt', rawQuery, headers: { host } };
    await expect(authenticate(input, examples, AT + 3600_000)).resolves.toEqual({
      principal: { anonymous: false, credential: EXAMPLE },
      payload: { mode: 'unsigned' },
      signatureVersion: 'AWS4-HMAC-SHA256',
    });
    expect((await s3Failure(authenticate(input, examples, AT + 86401_000))).message).toBe('Request has expired');
  });
});

describe('signing keys', () => {
  it('are cached per secret, date and region, and follow a changed secret', () => {
    const a = signingKey('s1', '20260101', 'us-east-1', 's3');
    expect(signingKey('s1', '20260101', 'us-east-1', 's3')).toBe(a);
    expect(signingKey('s2', '20260101', 'us-east-1', 's3')).not.toEqual(a);
    expect(signingKey('s1', '20260102', 'us-east-1', 's3')).not.toEqual(a);
    expect(signingKey('s1', '20260101', 'eu-west-1', 's3')).not.toEqual(a);
    // The AWS documentation's derived key for its example.
    expect(signingKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3').toString('hex')).toBe(
      'dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378',
    );
  });
});
