import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../protocol/errors';
import type { WriteCondition } from '../../metadata/store';

/**
 * If-Match / If-Unmodified-Since (→ 412) and If-None-Match / If-Modified-Since (→ 304) on
 * GET and HEAD, with S3's precedence: a true If-Match overrides a false If-Unmodified-Since,
 * a false If-None-Match overrides a true If-Modified-Since.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 */
export function checkReadConditions(headers: IncomingHttpHeaders, etag: string, lastModified: Date): void {
  const modified = Math.floor(lastModified.getTime() / 1000);
  const ifMatch = header(headers, 'if-match');
  const ifNoneMatch = header(headers, 'if-none-match');
  const ifUnmodifiedSince = httpDate(header(headers, 'if-unmodified-since'));
  const ifModifiedSince = httpDate(header(headers, 'if-modified-since'));
  const notModified = () => new S3Error('NotModified', undefined, {}, { etag, 'last-modified': lastModified.toUTCString() });

  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, etag)) throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
  } else if (ifUnmodifiedSince !== undefined && modified > ifUnmodifiedSince) {
    throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Unmodified-Since' });
  }
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, etag)) throw notModified();
  } else if (ifModifiedSince !== undefined && modified <= ifModifiedSince) {
    throw notModified();
  }
}

/** `*`, or a comma-separated list of quoted (or bare, or weak) etags. */
export function etagListMatches(list: string, etag: string): boolean {
  return parseEtagList(list).some((e) => e === '*' || e === etag);
}

export function parseEtagList(list: string): string[] {
  return list.split(',').map((e) => {
    const t = e.trim().replace(/^W\//, '');
    return t === '*' || t.startsWith('"') ? t : `"${t}"`;
  });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Seconds since epoch, or undefined for an absent or unparseable date (which S3 ignores). */
function httpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/** If-None-Match: * (create only) and If-Match (compare and swap) on a write: PutObject,
 * CopyObject's destination, CompleteMultipartUpload. The store checks them in its commit. */
export function writeCondition(headers: IncomingHttpHeaders): WriteCondition {
  const condition: WriteCondition = {};
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on a write supports only *.');
    condition.ifNoneMatch = '*';
  }
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined) condition.ifMatch = parseEtagList(ifMatch);
  return condition;
}
