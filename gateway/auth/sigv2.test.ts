import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { loadConfig } from '../config';
import { resolveTarget } from '../s3/addressing';
import { s3Failure } from '../protocol/errors.testing';
import { StaticIdentity, authenticate, type AuthInput, type Credential, type Identity } from '.';
import { authenticatePostForm, evaluatePostPolicy, parsePostPolicy } from './post-policy';
import { canonicalizedAmzHeaders, canonicalizedResource, resourceCandidates, signV2, stringToSignV2 } from './sigv2';

/**
 * Signature Version 2, from AWS's "Signing and Authenticating REST Requests" (the S3 developer
 * guide's examples, with its example keys): the exact StringToSign and Signature of each, then
 * every refusal. Signatures in the examples are the guide's, not computed by rfs's code.
 */
const EXAMPLE: Credential = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', owner: 'o', displayName: 'example' };
const identity = new StaticIdentity([EXAMPLE]);
/** SigV2 on, with virtual-hosted buckets under this domain (RFS_DOMAIN). */
const ON = 's3.amazonaws.com';

interface V2Request {
  method?: string;
  /** Path and query as on the request line. */
  url: string;
  host?: string;
  headers?: Record<string, string | string[]>;
  signature?: string;
}

/** An AuthInput as server.ts builds it, with rawHeaders in the given order; 'off': RFS_SIGV2=off. */
function input(req: V2Request, domain: string | 'off' = ON): AuthInput {
  const [rawPath, rawQuery = ''] = req.url.split('?', 2) as [string, string?];
  const headers: IncomingHttpHeaders = { host: req.host ?? 's3.amazonaws.com' };
  const rawHeaders = ['Host', headers.host!];
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) rawHeaders.push(name, v);
    const key = name.toLowerCase();
    const joined = Array.isArray(value) ? value.join(', ') : value;
    headers[key] = headers[key] === undefined ? joined : `${headers[key] as string}, ${joined}`;
  }
  if (req.signature !== undefined) {
    headers.authorization = `AWS ${EXAMPLE.accessKeyId}:${req.signature}`;
    rawHeaders.push('Authorization', headers.authorization);
  }
  const sigv2 = domain === 'off' ? undefined : { bucketInHost: resolveTarget(req.url, headers.host as string, domain).bucketInHost };
  return { method: req.method ?? 'GET', rawPath, rawQuery, headers, rawHeaders, sigv2 };
}

const at = (date: string) => Date.parse(date);

describe("the S3 developer guide's SigV2 examples", () => {
  it.each<[string, V2Request, string, string]>([
    [
      'Object GET (virtual-hosted)',
      { url: '/photos/puppy.jpg', host: 'johnsmith.s3.amazonaws.com', headers: { Date: 'Tue, 27 Mar 2007 19:36:42 +0000' } },
      'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg',
      'bWq2s1WEIj+Ydj0vQ697zp+IXMU=',
    ],
    [
      'Object PUT',
      { method: 'PUT', url: '/photos/puppy.jpg', host: 'johnsmith.s3.amazonaws.com', headers: { 'Content-Type': 'image/jpeg', 'Content-Length': '94328', Date: 'Tue, 27 Mar 2007 21:15:45 +0000' } },
      'PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg',
      'MyyxeRY7whkBe+bq8fHCL/2kKUg=',
    ],
    [
      'List (the query is not signed, only sub-resources are)',
      { url: '/?prefix=photos&max-keys=50&marker=puppy', host: 'johnsmith.s3.amazonaws.com', headers: { 'User-Agent': 'Mozilla/5.0', Date: 'Tue, 27 Mar 2007 19:42:41 +0000' } },
      'GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/',
      'htDYFYduRNen8P9ZfE/s9SuKy0U=',
    ],
    [
      'Fetch ACL (?acl sub-resource)',
      { url: '/?acl', host: 'johnsmith.s3.amazonaws.com', headers: { Date: 'Tue, 27 Mar 2007 19:44:46 +0000' } },
      'GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl',
      'c2WLPFtWHVgbEmeEG93a4cG37dM=',
    ],
    [
      'Delete (path-style; x-amz-date, its value on the Date line as the guide signs it)',
      { method: 'DELETE', url: '/johnsmith/photos/puppy.jpg', headers: { 'User-Agent': 'dotnet', Date: 'Tue, 27 Mar 2007 21:20:27 +0000', 'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000' } },
      // rfs's error body shows the spec's form: empty Date line, x-amz-date among the amz headers.
      'DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg',
      'lx3byBScXR6KzyMaifNkardMwNk=',
    ],
    [
      'List all my buckets',
      { url: '/', headers: { Date: 'Wed, 28 Mar 2007 01:29:59 +0000' } },
      'GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/',
      'qGdzdERIC03wnaRNKh6OqZehG9s=',
    ],
    [
      'Unicode keys (the path as sent, percent-encoding untouched)',
      { url: '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re', headers: { Date: 'Wed, 28 Mar 2007 01:49:49 +0000' } },
      'GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re',
      'DNEZGsoieTZ92F3bUfSPQcbGmlM=',
    ],
    [
      'Object GET, current guide (awsexamplebucket1, regional endpoint)',
      { url: '/photos/puppy.jpg', host: 'awsexamplebucket1.s3.us-west-1.amazonaws.com', headers: { Date: 'Tue, 27 Mar 2007 19:36:42 +0000' } },
      'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg',
      'qgk2+6Sv9/oM7G3qLEjTH1a1l1g=',
    ],
  ])('%s', async (_what, req, stringToSign, signature) => {
    const date = String(req.headers?.['x-amz-date'] ?? req.headers?.Date);
    const domain = req.host?.endsWith('.s3.us-west-1.amazonaws.com') ? 's3.us-west-1.amazonaws.com' : 's3.amazonaws.com';
    const ok = await authenticate(input({ ...req, signature }, domain), identity, at(date));
    expect(ok).toEqual({ principal: { anonymous: false, credential: EXAMPLE }, payload: { mode: 'unsigned' }, signatureVersion: 'AWS' });

    // A wrong signature is answered with the string rfs signed (the spec's form).
    const e = await s3Failure(authenticate(input({ ...req, signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, domain), identity, at(date)));
    expect([e.code, e.status]).toEqual(['SignatureDoesNotMatch', 403]);
    expect(e.fields).toEqual({
      AWSAccessKeyId: EXAMPLE.accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      StringToSignBytes: [...Buffer.from(stringToSign)].map((b) => b.toString(16).padStart(2, '0')).join(' '),
    });
  });

  it('Upload with x-amz headers: repeated ones folded, names lower-cased and sorted (CNAME-style bucket)', () => {
    const amz = canonicalizedAmzHeaders(
      new Map([
        ['x-amz-acl', ['public-read']],
        ['x-amz-meta-reviewedby', ['joe@johnsmith.net', 'jane@johnsmith.net']],
        ['x-amz-meta-filechecksum', ['0x02661779']],
        ['x-amz-meta-checksumalgorithm', [' crc32 ']],
      ]),
    );
    const toSign = stringToSignV2({
      method: 'PUT',
      contentMd5: '4gJE4saaMU4BqNR0kLY+lw==',
      contentType: 'application/x-download',
      date: 'Tue, 27 Mar 2007 21:06:08 +0000',
      amzHeaders: amz,
      resource: canonicalizedResource('/db-backup.dat.gz', '', 'static.johnsmith.net'),
    });
    expect(toSign).toBe(
      'PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n' +
        'x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n' +
        'x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz',
    );
    expect(signV2(EXAMPLE.secretKey, toSign)).toBe('ilyl83RwaSoYIEdixDQcA4OnAnc=');
  });

  it('the same upload through authenticate(): headers in any case, repeated on the wire, path-style', async () => {
    const req: V2Request = {
      method: 'PUT',
      url: '/static.johnsmith.net/db-backup.dat.gz',
      headers: {
        'User-Agent': 'curl/7.15.5',
        Date: 'Tue, 27 Mar 2007 21:06:08 +0000',
        'x-amz-acl': 'public-read',
        'content-type': 'application/x-download',
        'Content-MD5': '4gJE4saaMU4BqNR0kLY+lw==',
        'X-Amz-Meta-ReviewedBy': ['joe@johnsmith.net', 'jane@johnsmith.net'],
        'X-Amz-Meta-FileChecksum': '0x02661779',
        'X-Amz-Meta-ChecksumAlgorithm': 'crc32',
        'Content-Disposition': 'attachment; filename=database.dat',
        'Content-Encoding': 'gzip',
        'Content-Length': '5913339',
      },
      signature: 'ilyl83RwaSoYIEdixDQcA4OnAnc=',
    };
    const ok = await authenticate(input(req), identity, at('Tue, 27 Mar 2007 21:06:08 +0000'));
    expect(ok.signatureVersion).toBe('AWS');
  });

  it('Query string authentication: the example URL, Expires on the Date line', async () => {
    const url = '/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D';
    const ok = await authenticate(input({ url, host: 'johnsmith.s3.amazonaws.com' }), identity, 1175139620_000 - 3600_000);
    expect(ok).toEqual({ principal: { anonymous: false, credential: EXAMPLE }, payload: { mode: 'unsigned' }, signatureVersion: 'AWS' });
    const e = await s3Failure(authenticate(input({ url: url.replace('puppy', 'kitty'), host: 'johnsmith.s3.amazonaws.com' }), identity, 1175139620_000 - 3600_000));
    expect([e.code, e.fields.StringToSign]).toEqual(['SignatureDoesNotMatch', 'GET\n\n\n1175139620\n/johnsmith/photos/kitty.jpg']);
  });
});

/** Signs `req` (an AuthInput) with the spec's string to sign, built here independently. */
function signed(req: V2Request, stringToSign: string, secret = EXAMPLE.secretKey): V2Request {
  return { ...req, signature: createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64') };
}

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const DATE = new Date(NOW).toUTCString();

describe('SigV2 canonical resource', () => {
  it('signs the sub-resources in order, values decoded, and nothing else', () => {
    expect(canonicalizedResource('/b/k', 'uploadId=a%2Bb&partNumber=2&x-id=UploadPart')).toBe('/b/k?partNumber=2&uploadId=a+b');
    expect(canonicalizedResource('/b/k', 'response-content-disposition=attachment%3B%20filename%3D%22%C3%BC.bin%22&versionId=v1')).toBe(
      `/b/k?response-content-disposition=${Buffer.from('attachment; filename="ü.bin"').toString('latin1')}&versionId=v1`,
    );
    expect(canonicalizedResource('/b', 'uploads&prefix=x&delete=')).toBe('/b?delete=&uploads');
    expect(canonicalizedResource('/b', 'retention&legal-hold')).toBe('/b'); // botocore does not sign them
    expect(canonicalizedResource('/k', 'tagging', 'bucket')).toBe('/bucket/k?tagging');
  });

  it("also accepts what botocore >= 1.28 signs: its path template's static query, /bucket/ for a bucket", () => {
    expect(resourceCandidates('/b/k', 'acl')).toEqual(['/b/k?acl', '/b/k?acl?acl']);
    expect(resourceCandidates('/b', 'list-type=2&prefix=p')).toEqual(['/b', '/b/', '/b?list-type=2', '/b?list-type=2&prefix=p']);
    expect(resourceCandidates('/b/k', 'AWSAccessKeyId=A&Signature=S&Expires=1')).toEqual(['/b/k']);
  });

  it('a botocore >= 1.28 request verifies (GetObjectAcl signs /b/k?acl?acl)', async () => {
    const req = { url: '/b/k?acl', headers: { Date: DATE } };
    await expect(authenticate(input(signed(req, `GET\n\n\n${DATE}\n/b/k?acl?acl`)), identity, NOW)).resolves.toMatchObject({ signatureVersion: 'AWS' });
    const list = { url: '/b?list-type=2&prefix=v2%2F&encoding-type=url', headers: { Date: DATE } };
    await expect(authenticate(input(signed(list, `GET\n\n\n${DATE}\n/b?list-type=2`)), identity, NOW)).resolves.toMatchObject({ signatureVersion: 'AWS' });
  });
});

describe('SigV2 header authentication', () => {
  const base: V2Request = { method: 'PUT', url: '/bucket/key', headers: { Date: DATE, 'Content-Type': 'text/plain', 'x-amz-meta-a': ' one ' } };
  const good = signed(base, `PUT\n\ntext/plain\n${DATE}\nx-amz-meta-a:one\n/bucket/key`);

  it('accepts the request as signed', async () => {
    await expect(authenticate(input(good), identity, NOW)).resolves.toMatchObject({ principal: { anonymous: false } });
  });

  it.each<[string, (r: V2Request) => V2Request]>([
    ['a tampered path', (r) => ({ ...r, url: '/bucket/other' })],
    ['a tampered method', (r) => ({ ...r, method: 'DELETE' })],
    ['a tampered Content-Type', (r) => ({ ...r, headers: { ...r.headers, 'Content-Type': 'text/html' } })],
    ['a tampered x-amz header', (r) => ({ ...r, headers: { ...r.headers, 'x-amz-meta-a': 'two' } })],
    ['an added x-amz header', (r) => ({ ...r, headers: { ...r.headers, 'x-amz-acl': 'public-read' } })],
    ['an added sub-resource', (r) => ({ ...r, url: '/bucket/key?acl' })],
    ['a wrong secret', (r) => signed(base, `PUT\n\ntext/plain\n${DATE}\nx-amz-meta-a:one\n/bucket/key`, 'not-the-secret')],
  ])('refuses %s: 403 SignatureDoesNotMatch', async (_what, edit) => {
    const e = await s3Failure(authenticate(input(edit(good)), identity, NOW));
    expect([e.code, e.status]).toEqual(['SignatureDoesNotMatch', 403]);
    expect(e.fields.StringToSign).toEqual(expect.any(String));
  });

  it('refuses an unknown access key: 403 InvalidAccessKeyId', async () => {
    const req = input(good);
    req.headers.authorization = `AWS AKIDNOBODY:${good.signature}`;
    const e = await s3Failure(authenticate(req, identity, NOW));
    expect([e.code, e.status, e.fields.AWSAccessKeyId]).toEqual(['InvalidAccessKeyId', 403, 'AKIDNOBODY']);
  });

  it('refuses a malformed header: 400 InvalidArgument', async () => {
    const req = input(good);
    req.headers.authorization = 'AWS AKIAIOSFODNN7EXAMPLE';
    const e = await s3Failure(authenticate(req, identity, NOW));
    expect([e.code, e.status, e.message]).toEqual(['InvalidArgument', 400, 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature']);
  });

  it('takes the request time from x-amz-date, else Date; 15 minutes off → 403 RequestTimeTooSkewed', async () => {
    const e = await s3Failure(authenticate(input(good), identity, NOW + 16 * 60_000));
    expect([e.code, e.status]).toEqual(['RequestTimeTooSkewed', 403]);
    expect(e.fields).toEqual({ RequestTime: DATE, ServerTime: '2026-01-01T12:16:00Z', MaxAllowedSkewMilliseconds: '900000' });
    await expect(authenticate(input(good), identity, NOW + 14 * 60_000)).resolves.toBeDefined();

    const late = new Date(NOW - 60 * 60_000).toUTCString(); // Date an hour off, x-amz-date right
    const amz = signed({ url: '/b/k', headers: { Date: late, 'x-amz-date': DATE } }, `GET\n\n\n\nx-amz-date:${DATE}\n/b/k`);
    await expect(authenticate(input(amz), identity, NOW)).resolves.toBeDefined();
  });

  it('refuses a request without a date: 403 AccessDenied', async () => {
    const e = await s3Failure(authenticate(input(signed({ url: '/b/k' }, 'GET\n\n\n\n/b/k')), identity, NOW));
    expect([e.code, e.message]).toEqual(['AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header']);
  });

  it('passes x-amz-security-token to the identity, and it is signed', async () => {
    const tokens: Array<string | undefined> = [];
    const sts: Identity = { credential: async (id, token) => (tokens.push(token), id === EXAMPLE.accessKeyId ? EXAMPLE : undefined) };
    const req = signed({ url: '/b/k', headers: { Date: DATE, 'x-amz-security-token': 'TOKEN' } }, `GET\n\n\n${DATE}\nx-amz-security-token:TOKEN\n/b/k`);
    await expect(authenticate(input(req), sts, NOW)).resolves.toBeDefined();
    expect(tokens).toEqual(['TOKEN']);
    const bad = { ...req, signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' };
    const e = await s3Failure(authenticate(input(bad), sts, NOW));
    expect(e.fields.StringToSign).toBe(`GET\n\n\n${DATE}\nx-amz-security-token:<redacted>\n/b/k`);
  });

  it('does not sign the body; a declared x-amz-content-sha256 is still checked by the body path', async () => {
    const digest = createHash('sha256').update('x').digest('hex');
    const req = signed({ method: 'PUT', url: '/b/k', headers: { Date: DATE, 'x-amz-content-sha256': digest } }, `PUT\n\n\n${DATE}\nx-amz-content-sha256:${digest}\n/b/k`);
    await expect(authenticate(input(req), identity, NOW)).resolves.toMatchObject({ payload: { mode: 'sha256', expectedHex: digest } });
  });

  it('signs UTF-8 header values as the bytes sent (Node reads them as latin1)', async () => {
    // What botocore sends for Metadata={'name': 'café'}: the UTF-8 bytes; Node's string is 'cafÃ©'.
    const wire = Buffer.from('café').toString('latin1');
    const req = signed({ method: 'PUT', url: '/b/k', headers: { Date: DATE, 'x-amz-meta-name': wire } }, `PUT\n\n\n${DATE}\nx-amz-meta-name:café\n/b/k`);
    await expect(authenticate(input(req), identity, NOW)).resolves.toBeDefined();
  });

  it('is refused when SigV2 is off (no input.sigv2), and for STS: 400 InvalidRequest', async () => {
    for (const req of [{ ...input(good, 'off') }, { ...input(good), service: 'sts' as const }]) {
      const e = await s3Failure(authenticate(req, identity, NOW));
      expect([e.code, e.status, e.message]).toEqual(['InvalidRequest', 400, 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.']);
    }
  });
});

describe('SigV2 presigned URLs', () => {
  const expires = Math.floor(NOW / 1000) + 600;
  const url = (path: string, exp: number | string, sig: string, extra = '') =>
    `${path}?${extra}AWSAccessKeyId=${EXAMPLE.accessKeyId}&Expires=${exp}&Signature=${encodeURIComponent(sig)}`;
  const sig = (toSign: string) => signV2(EXAMPLE.secretKey, toSign);

  it('accepts a URL until it expires', async () => {
    const ok = { url: url('/b/k', expires, sig(`GET\n\n\n${expires}\n/b/k`)) };
    await expect(authenticate(input(ok), identity, NOW)).resolves.toMatchObject({ signatureVersion: 'AWS', payload: { mode: 'unsigned' } });
    const e = await s3Failure(authenticate(input(ok), identity, (expires + 1) * 1000));
    expect([e.code, e.status, e.message]).toEqual(['AccessDenied', 403, 'Request has expired']);
    expect(e.fields).toEqual({ Expires: '2026-01-01T12:10:00Z', ServerTime: '2026-01-01T12:10:01Z' });
  });

  it('refuses an expiry more than 7 days ahead: 403 AccessDenied', async () => {
    const far = Math.floor(NOW / 1000) + 7 * 24 * 3600 + 60;
    const e = await s3Failure(authenticate(input({ url: url('/b/k', far, sig(`GET\n\n\n${far}\n/b/k`)) }), identity, NOW));
    expect([e.code, e.status]).toEqual(['AccessDenied', 403]);
    expect(e.message).toMatch(/604800 seconds/);
  });

  it('refuses a non-numeric Expires: 403 AccessDenied, as S3 words it', async () => {
    const e = await s3Failure(authenticate(input({ url: url('/b/k', 'soon', 'x') }), identity, NOW));
    expect([e.code, e.status, e.message]).toEqual(['AccessDenied', 403, 'Invalid date (should be seconds since epoch): soon']);
  });

  it('refuses a URL missing a parameter: 403 AccessDenied', async () => {
    const e = await s3Failure(authenticate(input({ url: `/b/k?AWSAccessKeyId=${EXAMPLE.accessKeyId}&Signature=abc` }), identity, NOW));
    expect([e.code, e.message]).toEqual(['AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters']);
  });

  it('refuses a tampered path or sub-resource: SignatureDoesNotMatch', async () => {
    const s = sig(`GET\n\n\n${expires}\n/b/k`);
    for (const u of [url('/b/other', expires, s), url('/b/k', expires, s, 'acl&')]) {
      expect((await s3Failure(authenticate(input({ url: u }), identity, NOW))).code).toBe('SignatureDoesNotMatch');
    }
  });

  it('takes x-amz-* and Content-Type moved into the query by botocore as signed headers, the token too', async () => {
    const tokens: Array<string | undefined> = [];
    const sts: Identity = { credential: async (_id, token) => (tokens.push(token), EXAMPLE) };
    const s = sig(`PUT\n\ntext/plain\n${expires}\nx-amz-security-token:TOK+EN\n/b/k`);
    const u = url('/b/k', expires, s, 'content-type=text%2Fplain&x-amz-security-token=TOK%2BEN&');
    await expect(authenticate({ ...input({ method: 'PUT', url: u }) }, sts, NOW)).resolves.toBeDefined();
    expect(tokens).toEqual(['TOK+EN']);
  });

  it('is refused when SigV2 is off: 400 InvalidRequest', async () => {
    const e = await s3Failure(authenticate(input({ url: url('/b/k', expires, 'x') }, 'off'), identity, NOW));
    expect([e.code, e.status]).toEqual(['InvalidRequest', 400]);
  });
});

describe('SigV2 POST forms', () => {
  const policy = Buffer.from(
    JSON.stringify({ expiration: '2026-01-02T00:00:00.000Z', conditions: [{ bucket: 'b' }, ['starts-with', '$key', 'up/']] }),
  ).toString('base64');
  const fields = (signature: string, extra: Record<string, string> = {}) =>
    new Map(Object.entries({ key: 'up/x', awsaccesskeyid: EXAMPLE.accessKeyId, policy, signature, ...extra }));
  const good = createHmac('sha1', EXAMPLE.secretKey).update(policy).digest('base64');

  it('accepts a policy signed with HMAC-SHA1 of the base64 policy; AWSAccessKeyId and signature need no condition', async () => {
    const form = fields(good);
    const accepted = await authenticatePostForm(form, identity, { sigv2: true });
    expect(accepted.credential).toBe(EXAMPLE);
    expect(accepted.signatureVersion).toBe('AWS');
    expect(evaluatePostPolicy(parsePostPolicy(policy, NOW), { bucket: 'b', key: 'up/x', fields: form })).toEqual({ min: 0, max: Number.MAX_SAFE_INTEGER });
  });

  it('refuses a wrong signature with the policy as the string to sign', async () => {
    const e = await s3Failure(authenticatePostForm(fields('AAAAAAAAAAAAAAAAAAAAAAAAAAA='), identity, { sigv2: true }));
    expect([e.code, e.fields.StringToSign]).toEqual(['SignatureDoesNotMatch', policy]);
  });

  it('refuses a form without its policy, and every v2 form when SigV2 is off', async () => {
    const noPolicy = fields(good);
    noPolicy.delete('policy');
    expect((await s3Failure(authenticatePostForm(noPolicy, identity, { sigv2: true }))).message).toMatch(/field named 'policy'/);
    const e = await s3Failure(authenticatePostForm(fields(good), identity, {}));
    expect([e.code, e.status]).toEqual(['InvalidRequest', 400]);
  });
});

describe('SigV4 with UTF-8 header values', () => {
  it("verifies 'café' / '日本' metadata signed as UTF-8 text and received as its bytes (latin1 in Node)", async () => {
    const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: { accessKeyId: EXAMPLE.accessKeyId, secretAccessKey: EXAMPLE.secretKey }, sha256: Sha256, uriEscapePath: false });
    const headers = { host: 'localhost:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-name': 'café', 'x-amz-meta-city': '日本' };
    const req = await signer.sign({ method: 'PUT', protocol: 'http:', hostname: 'localhost', port: 9000, path: '/b/k', query: {}, headers }, { signingDate: new Date(NOW) });
    const wire: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) wire[k.toLowerCase()] = Buffer.from(v, 'utf8').toString('latin1');
    const ok = await authenticate({ method: 'PUT', rawPath: '/b/k', rawQuery: '', headers: wire }, identity, NOW);
    expect(ok.signatureVersion).toBe('AWS4-HMAC-SHA256');
    // A caller that hands over text (chars above U+00FF) is taken as meaning its UTF-8.
    const text: IncomingHttpHeaders = { ...wire, 'x-amz-meta-city': '日本' };
    await expect(authenticate({ method: 'PUT', rawPath: '/b/k', rawQuery: '', headers: text }, identity, NOW)).resolves.toBeDefined();
  });
});

describe('RFS_SIGV2', () => {
  it('is on by default; off, false and 0 turn it off; anything else is an error', () => {
    const env = { RFS_DATA_DIR: '/tmp/rfs-sigv2-config' };
    expect(loadConfig(env).sigv2).toBe(true);
    for (const off of ['off', 'false', '0', 'OFF']) expect(loadConfig({ ...env, RFS_SIGV2: off }).sigv2).toBe(false);
    expect(loadConfig({ ...env, RFS_SIGV2: 'on' }).sigv2).toBe(true);
    expect(() => loadConfig({ ...env, RFS_SIGV2: 'maybe' })).toThrow(/RFS_SIGV2/);
  });
});
