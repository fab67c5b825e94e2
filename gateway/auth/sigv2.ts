import { createHmac } from 'node:crypto';
import { S3Error } from '../protocol/errors';
import { single } from '../protocol/headers';
import { isoSeconds, parseAmzDate, parseHttpDate } from './amz-date';
import { byteString, bytesText } from '../protocol/headers';
import type { Credential, Identity } from './identity';
import { parseContentSha256, payloadAuth } from './payload-mode';
import { MAX_PRESIGNED_EXPIRES_S } from './presigned-auth';
import { MAX_SKEW_MS } from './signed-request';
import { signaturesEqual } from './signature';
import type { AuthInput, AuthResult, PayloadAuth } from './types';
import { percentDecode, type QueryParam } from './uri-encoding';

/**
 * AWS Signature Version 2 for S3 ("Signing and Authenticating REST Requests"), in its three
 * forms: `Authorization: AWS <AccessKeyId>:<Signature>`, the presigned query
 * (`AWSAccessKeyId`, `Signature`, `Expires`) and the browser POST form (post-policy.ts).
 *
 *   Signature = Base64(HMAC-SHA1(secret, UTF-8(StringToSign)))
 *   StringToSign = Verb \n Content-MD5 \n Content-Type \n Date|Expires \n
 *                  CanonicalizedAmzHeaders CanonicalizedResource
 *
 * What a client signs is what botocore's HmacV1Auth signs (boto3, the aws cli v1); s3cmd and
 * the older SDKs sign the same for every sub-resource they know. The body is not signed.
 *
 * Strings to sign are built as byte strings (one char per byte, as Node hands header values
 * over): header values carry the bytes the client sent, so UTF-8 metadata is signed as sent.
 */

/** The sub-resources botocore's HmacV1Auth.QSAOfInterest puts in the canonical resource (a
 * client that signs a parameter the server leaves out, or the reverse, never verifies).
 * Deliberately without `retention`, `legal-hold`, `encryption`, ...: botocore does not sign
 * them, so rfs must not either. */
export const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'defaultObjectAcl', 'delete', 'inventory', 'lifecycle',
  'location', 'logging', 'metrics', 'notification', 'object-lock', 'partNumber', 'policy', 'replication',
  'requestPayment', 'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires', 'restore', 'select',
  'select-type', 'storageClass', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId', 'versioning',
  'versions', 'website',
]);

/** The `s3:signatureversion` of SigV2 requests. */
export const SIGV2_VERSION = 'AWS';

/** Whitespace botocore strips around a value (Python's str.strip, ASCII part). */
const trimValue = (v: string) => v.replace(/^[ \t\r\n\v\f]+|[ \t\r\n\v\f]+$/g, '');
/** A header folded over several lines becomes one, the folding whitespace one space. */
const unfold = (v: string) => v.replace(/\r?\n[ \t]+/g, ' ');

/** The signed sub-resources of a raw query, sorted by name: `?acl`, `?partNumber=1&uploadId=…`,
 * or ''. Values are percent-decoded as botocore does (unquote: `+` stays `+`), as a byte
 * string; a name sent without `=` is signed without one. */
function subResources(rawQuery: string): string {
  const signed: Array<[string, string | undefined]> = [];
  for (const part of rawQuery === '' ? [] : rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!SIGNED_SUBRESOURCES.has(name)) continue;
    signed.push([name, eq < 0 ? undefined : percentDecode(part.slice(eq + 1), false).toString('latin1')]);
  }
  if (signed.length === 0) return '';
  signed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); // stable, as Python's sort
  return '?' + signed.map(([n, v]) => (v === undefined ? n : `${n}=${v}`)).join('&');
}

/**
 * The CanonicalizedResource of the spec: `/bucket` for a virtual-hosted request, the path as
 * sent (percent-encoded as on the wire), then the signed sub-resources.
 */
export function canonicalizedResource(rawPath: string, rawQuery: string, bucketInHost?: string): string {
  return (bucketInHost ? `/${bucketInHost}` : '') + (rawPath === '' ? '/' : rawPath) + subResources(rawQuery);
}

/**
 * Every canonical resource a client may have signed for this request, the spec's first.
 * botocore since 1.28 signs its operation's path template ("auth_path") instead of the path:
 * `/bucket/` for a bucket-only URI (`/{Bucket}`), and the template's static query (`?acl`,
 * `?list-type=2`, `?select&select-type=2`: the first one or two query items, which botocore
 * writes first) before the sub-resources, which then repeat (`/b/k?acl?acl`). Each candidate
 * covers the path and every signed sub-resource; they differ only in what they add.
 */
export function resourceCandidates(rawPath: string, rawQuery: string, bucketInHost?: string): string[] {
  const path = (bucketInHost ? `/${bucketInHost}` : '') + (rawPath === '' ? '/' : rawPath);
  const sub = subResources(rawQuery);
  const out = [path + sub];
  if (!bucketInHost && /^\/[^/]+$/.test(path)) out.push(`${path}/${sub}`);
  const items = rawQuery === '' ? [] : rawQuery.split('&');
  for (let k = 1; k <= Math.min(2, items.length); k++) {
    const fixed = items.slice(0, k);
    if (fixed.some((item) => item === '' || /^(AWSAccessKeyId|Signature|Expires)(=|$)/.test(item))) break;
    out.push(`${path}?${fixed.join('&')}${sub}`);
  }
  return [...new Set(out)];
}

/** x-amz-* headers: names lower-cased and sorted, repeated ones comma-joined in arrival order,
 * each value unfolded and trimmed; one `name:value\n` each. */
export function canonicalizedAmzHeaders(headers: ReadonlyMap<string, readonly string[]>): string {
  let block = '';
  for (const name of [...headers.keys()].sort()) {
    block += `${name}:${headers.get(name)!.map((v) => trimValue(unfold(byteString(v)))).join(',')}\n`;
  }
  return block;
}

export interface StringToSignParts {
  method: string;
  contentMd5: string;
  contentType: string;
  /** The Date header (empty when x-amz-date is sent), or Expires for presigned URLs. */
  date: string;
  /** From canonicalizedAmzHeaders: '' or lines ending in `\n`. */
  amzHeaders: string;
  resource: string;
}

export function stringToSignV2(p: StringToSignParts): string {
  return `${p.method}\n${p.contentMd5}\n${p.contentType}\n${p.date}\n${p.amzHeaders}${p.resource}`;
}

/** Base64 HMAC-SHA1 of a byte string (see above) under a secret key. */
export function signV2(secretKey: string, stringToSign: string): string {
  return createHmac('sha1', secretKey).update(Buffer.from(stringToSign, 'latin1')).digest('base64');
}

/** The headers of a request by lower-case name, repeated ones in arrival order. */
function headerValues(input: AuthInput): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const values = out.get(name);
    if (values) values.push(value);
    else out.set(name, [value]);
  };
  if (input.rawHeaders) {
    for (let i = 0; i + 1 < input.rawHeaders.length; i += 2) add(input.rawHeaders[i]!.toLowerCase(), input.rawHeaders[i + 1]!);
  } else {
    for (const [name, v] of Object.entries(input.headers)) {
      if (v === undefined) continue;
      for (const value of Array.isArray(v) ? v : [v]) add(name, value);
    }
  }
  return out;
}

function amzHeaders(all: ReadonlyMap<string, readonly string[]>, except?: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, values] of all) if (name.startsWith('x-amz-') && name !== except) out.set(name, [...values]);
  return out;
}

/** Session tokens are bearer-like: kept out of error bodies. */
function redactToken(text: string): string {
  return text.replace(/^(x-amz-security-token:).*$/gm, '$1<redacted>');
}

/** The candidate strings to sign, the first the canonical one (shown in errors). */
async function verify(
  accessKeyId: string,
  provided: string,
  candidates: readonly string[],
  token: string | undefined,
  identity: Identity,
): Promise<Credential> {
  const credential = await identity.credential(accessKeyId, token);
  if (!credential) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKeyId });
  // Base64 has no spaces: a `+` sent unencoded in a query was read as one.
  const signature = provided.replaceAll(' ', '+');
  let ok = false;
  for (const toSign of candidates) ok = signaturesEqual(signV2(credential.secretKey, toSign), signature) || ok;
  if (!ok) throw signatureMismatch(accessKeyId, provided, candidates[0]!);
  return credential;
}

/** SignatureDoesNotMatch as S3 words it for SigV2: the string to sign as text and as bytes. */
export function signatureMismatch(accessKeyId: string, provided: string, toSign: string): S3Error {
  const shown = redactToken(toSign);
  return new S3Error('SignatureDoesNotMatch', undefined, {
    AWSAccessKeyId: accessKeyId,
    StringToSign: bytesText(shown),
    SignatureProvided: provided,
    StringToSignBytes: [...Buffer.from(shown, 'latin1')].map((b) => b.toString(16).padStart(2, '0')).join(' '),
  });
}

/** Verifies a signed policy of a SigV2 POST form: the string to sign is the base64 policy. */
export async function verifyPolicySignatureV2(
  accessKeyId: string,
  policy: string,
  signature: string,
  token: string | undefined,
  identity: Identity,
): Promise<Credential> {
  return verify(accessKeyId, signature, [policy], token, identity);
}

/** SigV2 does not sign the body; an x-amz-content-sha256 (signed as an x-amz header) still
 * says how it is framed, and a digest there is checked. Content-MD5 is checked by the body path. */
function v2Payload(input: AuthInput): PayloadAuth {
  const value = single(input.headers['x-amz-content-sha256']);
  const declared = value !== undefined ? parseContentSha256(value) : undefined;
  return declared ? payloadAuth(declared, undefined, input.headers) : { mode: 'unsigned' };
}

function headerText(all: ReadonlyMap<string, readonly string[]>, name: string): string {
  const values = all.get(name);
  return values ? trimValue(byteString(values[0]!)) : '';
}

/** Verifies `Authorization: AWS <AccessKeyId>:<Signature>`. */
export async function authenticateV2Header(input: AuthInput, authorization: string, identity: Identity, now: number): Promise<AuthResult> {
  const m = /^AWS ([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!m) {
    throw new S3Error('InvalidArgument', 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature', {
      ArgumentName: 'Authorization',
      ArgumentValue: authorization,
    });
  }
  const [, accessKeyId, provided] = m as unknown as [string, string, string];
  const all = headerValues(input);
  const amzDate = single(input.headers['x-amz-date']);
  const date = single(input.headers['date']);
  const raw = amzDate ?? date;
  const ms = raw === undefined ? undefined : parseHttpDate(raw) ?? parseAmzDate(raw);
  if (ms === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (Math.abs(ms - now) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      RequestTime: raw!,
      ServerTime: isoSeconds(now),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }
  const base = { method: input.method, contentMd5: headerText(all, 'content-md5'), contentType: headerText(all, 'content-type') };
  // With x-amz-date, the Date line is empty and x-amz-date is one of the amz headers (the
  // spec); some clients (and the guide's DELETE example) put its value on the Date line instead.
  const dated = [{ date: amzDate !== undefined ? '' : headerText(all, 'date'), amzHeaders: canonicalizedAmzHeaders(amzHeaders(all)) }];
  if (amzDate !== undefined) dated.push({ date: headerText(all, 'x-amz-date'), amzHeaders: canonicalizedAmzHeaders(amzHeaders(all, 'x-amz-date')) });
  const candidates: string[] = [];
  for (const resource of resourceCandidates(input.rawPath, input.rawQuery, input.sigv2?.bucketInHost)) {
    for (const d of dated) candidates.push(stringToSignV2({ ...base, ...d, resource }));
  }
  const token = single(input.headers['x-amz-security-token']);
  const credential = await verify(accessKeyId, provided, candidates, token, identity);
  return { principal: { anonymous: false, credential }, payload: v2Payload(input), signatureVersion: SIGV2_VERSION };
}

const V2_QUERY = ['AWSAccessKeyId', 'Signature', 'Expires'] as const;

/** Verifies a SigV2 presigned URL. */
export async function authenticateV2Presigned(input: AuthInput, query: readonly QueryParam[], identity: Identity, now: number): Promise<AuthResult> {
  const found: Partial<Record<(typeof V2_QUERY)[number], string>> = {};
  const missing = () => new S3Error('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
  for (const p of query) {
    if (!(V2_QUERY as readonly string[]).includes(p.name)) continue;
    const name = p.name as (typeof V2_QUERY)[number];
    if (found[name] !== undefined) throw missing();
    found[name] = p.value;
  }
  if (V2_QUERY.some((name) => !found[name])) throw missing();
  const expiresText = found.Expires!;
  if (!/^\d{1,15}$/.test(expiresText)) throw new S3Error('AccessDenied', `Invalid date (should be seconds since epoch): ${expiresText}`);
  const expires = Number(expiresText) * 1000;
  if (now > expires) {
    throw new S3Error('AccessDenied', 'Request has expired', { Expires: isoSeconds(expires), ServerTime: isoSeconds(now) });
  }
  if (expires - now > MAX_PRESIGNED_EXPIRES_S * 1000) {
    throw new S3Error('AccessDenied', `Request expiry must be at most ${MAX_PRESIGNED_EXPIRES_S} seconds (7 days) in the future`, {
      Expires: isoSeconds(expires),
      ServerTime: isoSeconds(now),
    });
  }

  // botocore moves the signed x-amz-*, Content-MD5 and Content-Type headers into the query
  // (lower-cased): those count as sent. Headers the request carries are signed too.
  const all = headerValues(input);
  const amz = amzHeaders(all);
  const fromQuery = new Map<string, string>();
  for (const p of query) {
    const name = p.name.toLowerCase();
    if (name.startsWith('x-amz-')) {
      const value = Buffer.from(p.value, 'utf8').toString('latin1');
      amz.set(name, [...(amz.get(name) ?? []), value]);
    } else if ((name === 'content-md5' || name === 'content-type') && p.name === name) {
      fromQuery.set(name, Buffer.from(p.value, 'utf8').toString('latin1'));
    }
  }
  const parts = {
    method: input.method,
    contentMd5: fromQuery.get('content-md5') ?? headerText(all, 'content-md5'),
    contentType: fromQuery.get('content-type') ?? headerText(all, 'content-type'),
    date: expiresText,
    amzHeaders: canonicalizedAmzHeaders(amz),
  };
  const resources = resourceCandidates(input.rawPath, input.rawQuery, input.sigv2?.bucketInHost);
  const token =
    single(input.headers['x-amz-security-token']) ?? query.find((p) => p.name.toLowerCase() === 'x-amz-security-token')?.value;
  const credential = await verify(found.AWSAccessKeyId!, found.Signature!, resources.map((resource) => stringToSignV2({ ...parts, resource })), token, identity);
  return { principal: { anonymous: false, credential }, payload: v2Payload(input), signatureVersion: SIGV2_VERSION };
}
