import type { S3Call } from '../services';
import type { ListPage } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { isoDate, xmlDocument } from '../protocol/xml';
import { awsUriEncode } from '../auth/uri-encoding';

const MAX_KEYS = 1000;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html */
export async function listObjectsV2(call: S3Call): Promise<void> {
  const q = call.target.query;
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after') ?? '';
  const after = token !== null ? decodeToken(token) : startAfter;
  const { page, prefix, delimiter, maxKeys, encode } = await listPage(call, after);
  const fetchOwner = q.get('fetch-owner') === 'true';
  call.reply.type('application/xml').send(
    xmlDocument('ListBucketResult', {
      Name: call.target.bucket,
      Prefix: encode(prefix),
      ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
      MaxKeys: maxKeys,
      KeyCount: page.objects.length + page.commonPrefixes.length,
      IsTruncated: page.isTruncated,
      ...(token !== null ? { ContinuationToken: token } : {}),
      ...(page.isTruncated && page.last !== undefined ? { NextContinuationToken: encodeToken(page.last) } : {}),
      ...(startAfter ? { StartAfter: encode(startAfter) } : {}),
      ...(q.has('encoding-type') ? { EncodingType: 'url' } : {}),
      ...entries(page, encode, fetchOwner, call),
    }),
  );
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html */
export async function listObjects(call: S3Call): Promise<void> {
  const marker = call.target.query.get('marker') ?? '';
  const { page, prefix, delimiter, maxKeys, encode } = await listPage(call, marker);
  call.reply.type('application/xml').send(
    xmlDocument('ListBucketResult', {
      Name: call.target.bucket,
      Prefix: encode(prefix),
      Marker: encode(marker),
      ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
      MaxKeys: maxKeys,
      IsTruncated: page.isTruncated,
      ...(page.isTruncated && page.last !== undefined ? { NextMarker: encode(page.last) } : {}),
      ...(call.target.query.has('encoding-type') ? { EncodingType: 'url' } : {}),
      ...entries(page, encode, true, call),
    }),
  );
}

async function listPage(call: S3Call, after: string) {
  const { services, target } = call;
  const q = target.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const encode = parseEncoding(q);
  const maxKeys = parseMaxKeys(q);
  const page = await services.meta.listObjects({ bucket: target.bucket, prefix, delimiter, after, maxKeys });
  return { page, prefix, delimiter, maxKeys, encode };
}

/** `max-keys`, capped at 1000 as S3 caps it; anything but digits is InvalidArgument. */
export function parseMaxKeys(q: URLSearchParams): number {
  const rawMax = q.get('max-keys');
  if (rawMax !== null && !/^\d+$/.test(rawMax)) throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: rawMax });
  return rawMax === null ? MAX_KEYS : Math.min(Number(rawMax), MAX_KEYS);
}

/** `encoding-type`: only `url` exists; the function encodes keys and prefixes as S3 does: every
 * byte but the unreserved ones and '/' (`foo+1/` → `foo%2B1/`, `quux ab/` → `quux%20ab/`), so a
 * client that decodes once gets the key back. */
export function parseEncoding(q: URLSearchParams): (s: string) => string {
  const encodingType = q.get('encoding-type');
  if (encodingType !== null && encodingType !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
  return encodingType === 'url' ? (s: string) => awsUriEncode(Buffer.from(s, 'utf8'), true) : (s: string) => s;
}

/** A listing's Owner element: the caller's display name for its own objects. */
export function ownerElement(owner: string, call: S3Call): { ID: string; DisplayName: string } {
  return { ID: owner, DisplayName: owner === call.caller?.owner ? call.caller.displayName : owner };
}

function entries(page: ListPage, encode: (s: string) => string, withOwner: boolean, call: S3Call) {
  return {
    Contents: page.objects.map((o) => ({
      Key: encode(o.key),
      LastModified: isoDate(o.lastModified),
      ETag: o.etag,
      Size: o.size,
      ...(withOwner ? { Owner: ownerElement(o.owner, call) } : {}),
      StorageClass: 'STANDARD',
    })),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
  };
}

/** Continuation tokens are opaque to clients: the last key returned, base64url. */
function encodeToken(after: string): string {
  return Buffer.from(after, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(token)) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  return Buffer.from(token, 'base64url').toString('utf8');
}
