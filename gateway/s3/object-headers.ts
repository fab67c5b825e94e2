import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectVersion } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { tagCountHeader } from './tagging';

/** Headers stored with an object and returned as stored. */
export const STORED_HEADERS = ['content-type', 'content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'] as const;

/** GET's response-* query parameters and the header each overrides. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

const USER_METADATA_MAX_BYTES = 2048;

export function storedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = headers[name];
    if (typeof v === 'string') out[name] = v;
  }
  out['content-type'] ??= 'binary/octet-stream';
  return out;
}

/** x-amz-meta-* → { name: value }; S3 allows 2 KiB of names and values, UTF-8. */
export function userMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const key = name.slice('x-amz-meta-'.length);
    const v = Array.isArray(value) ? value.join(',') : value;
    out[key] = v;
    bytes += Buffer.byteLength(key) + Buffer.byteLength(v);
  }
  if (bytes > USER_METADATA_MAX_BYTES) throw new S3Error('MetadataTooLarge', undefined, { MaxSizeAllowed: String(USER_METADATA_MAX_BYTES), Size: String(bytes) });
  return out;
}

/** The headers GET and HEAD return for an object. */
export function objectResponseHeaders(o: ObjectVersion, query: URLSearchParams, withChecksums: boolean): Record<string, string> {
  const h: Record<string, string> = {
    etag: o.etag,
    'last-modified': o.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    ...o.headers,
  };
  for (const [name, value] of Object.entries(o.userMetadata)) h[`x-amz-meta-${name}`] = value;
  Object.assign(h, tagCountHeader(o.tags));
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = query.get(param);
    if (v !== null) h[name] = v;
  }
  if (withChecksums) {
    for (const [alg, value] of Object.entries(o.checksums)) h[`x-amz-checksum-${alg.toLowerCase()}`] = value;
    if (Object.keys(o.checksums).length > 0) h['x-amz-checksum-type'] = o.checksumType ?? 'FULL_OBJECT';
  }
  return h;
}
