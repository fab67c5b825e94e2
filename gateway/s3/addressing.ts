import { S3Error } from '../protocol/errors';

/** What a request names: path-style `/bucket/key` or virtual-hosted `bucket.<domain>/key`. */
export interface Target {
  bucket: string;
  key: string;
  /** As received, for SigV4's canonical request. */
  rawPath: string;
  rawQuery: string;
  query: URLSearchParams;
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
  const query = new URLSearchParams(rawQuery);
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  if (domain && hostname.endsWith(`.${domain}`)) {
    return { bucket: hostname.slice(0, -domain.length - 1), key: path.slice(1), rawPath, rawQuery, query };
  }
  const slash = path.indexOf('/', 1);
  if (slash < 0) return { bucket: path.slice(1), key: '', rawPath, rawQuery, query };
  return { bucket: path.slice(1, slash), key: path.slice(slash + 1), rawPath, rawQuery, query };
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
