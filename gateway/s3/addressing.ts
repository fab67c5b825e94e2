import { S3Error } from '../protocol/errors';

/** What a request names: path-style `/bucket/key` or virtual-hosted `bucket.<domain>/key`. */
export interface Target {
  bucket: string;
  key: string;
  /** As received, for SigV4's canonical request. */
  rawPath: string;
  rawQuery: string;
  query: URLSearchParams;
  /** The bucket when the Host named it (virtual-hosted): SigV2 signs it. */
  bucketInHost?: string;
}

export const MAX_KEY_BYTES = 1024;

export function resolveTarget(rawUrl: string, host: string | undefined, domain: string | undefined): Target {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI');
  let path: string;
  try {
    // Throws on malformed escapes and on bytes that are not UTF-8: S3 keys are UTF-8.
    path = decodeURIComponent(rawPath);
  } catch {
    throw new S3Error('InvalidURI');
  }
  const query = parseQuery(rawQuery);
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  let bucket: string;
  let key: string;
  let bucketInHost: string | undefined;
  if (domain && hostname.endsWith(`.${domain}`)) {
    [bucket, key] = [(bucketInHost = hostname.slice(0, -domain.length - 1)), path.slice(1)];
  } else {
    const slash = path.indexOf('/', 1);
    [bucket, key] = slash < 0 ? [path.slice(1), ''] : [path.slice(1, slash), path.slice(slash + 1)];
  }
  // A NUL cannot be stored (PostgreSQL text refuses it): refused here, before any lookup.
  if (bucket.includes('\0')) throw new S3Error('InvalidBucketName', undefined, { BucketName: rawPath.split('/')[1] ?? '' });
  if (key.includes('\0')) throw new S3Error('InvalidArgument', 'Object key contains an invalid character', { ArgumentName: 'key', ArgumentValue: rawPath });
  return { bucket, key, rawPath, rawQuery, query, ...(bucketInHost !== undefined ? { bucketInHost } : {}) };
}

/**
 * The query string, strictly: URLSearchParams keeps a malformed escape (`%ZZ`) as it is and
 * turns bytes that are not UTF-8 into U+FFFD, so a value would silently differ from what the
 * client sent. Either, or a NUL, is InvalidArgument naming the parameter (values as sent).
 */
function parseQuery(rawQuery: string): URLSearchParams {
  const query = new URLSearchParams();
  if (rawQuery === '') return query;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const [rawName, rawValue] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    const name = decodeQueryPart(rawName, rawName, rawValue);
    query.append(name, decodeQueryPart(rawValue, rawName, rawValue));
  }
  return query;
}

function decodeQueryPart(part: string, rawName: string, rawValue: string): string {
  let decoded: string | undefined;
  try {
    decoded = decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    decoded = undefined;
  }
  if (decoded === undefined || decoded.includes('\0')) {
    throw new S3Error('InvalidArgument', 'A query parameter is not valid UTF-8 or contains an invalid character.', { ArgumentName: rawName, ArgumentValue: rawValue });
  }
  return decoded;
}

/** S3's bucket naming rules, checked at CreateBucket.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)
  );
}

/** Keys are at most 1024 bytes of UTF-8. */
export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError');
}
