import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectVersion } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { byteString } from '../protocol/headers';
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

/** Characters no header value may hold (Node refuses to write them: ERR_INVALID_CHAR). */
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/;
/** A header name is an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A stored value as the header it will be answered with: header bytes (byteString), so text
 * from a POST form field with characters past U+00FF is kept as its UTF-8. A control
 * character (only a form field can carry one) is refused now rather than failing every GET.
 */
function headerValue(name: string, value: string): string {
  if (CONTROL_CHARS.test(value)) throw invalidHeaderArgument(name, value);
  return byteString(value);
}

/** InvalidArgument naming the parameter, its value shown with control characters escaped
 * (XML 1.0 cannot carry them). */
function invalidHeaderArgument(name: string, value: string): S3Error {
  const shown = value.replace(/[\x00-\x1f\x7f%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return new S3Error('InvalidArgument', `Header value contains an invalid character: ${name}`, { ArgumentName: name, ArgumentValue: shown });
}

export function storedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = name === 'content-encoding' ? contentEncoding(headers[name]) : headers[name];
    if (typeof v === 'string') out[name] = headerValue(name, v);
  }
  out['content-type'] ??= 'binary/octet-stream';
  return out;
}

/** Content-Encoding as the object keeps it: `aws-chunked` describes how this request's body
 * travelled, never the object (`gzip, aws-chunked` is stored as `gzip`, `aws-chunked` as none). */
function contentEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const kept = value.split(',').map((c) => c.trim()).filter((c) => c !== '' && c.toLowerCase() !== 'aws-chunked');
  return kept.length > 0 ? kept.join(', ') : undefined;
}

/** x-amz-meta-* → { name: value }; S3 allows 2 KiB of names and values, UTF-8. */
export function userMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const key = name.slice('x-amz-meta-'.length);
    if (!TOKEN.test(name)) throw new S3Error('InvalidArgument', 'Metadata name is not a valid HTTP header name.', { ArgumentName: name, ArgumentValue: '' });
    const v = headerValue(name, Array.isArray(value) ? value.join(',') : value);
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
    if (v === null) continue;
    // Refused here, before any byte of the answer: Node would throw writing the header,
    // a 500 on GET and an empty answer on HEAD. Decoded text goes out as UTF-8 bytes.
    if (CONTROL_CHARS.test(v)) throw invalidHeaderArgument(param, v);
    h[name] = /[^\x00-\x7f]/.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v;
  }
  if (withChecksums) {
    for (const [alg, value] of Object.entries(o.checksums)) h[`x-amz-checksum-${alg.toLowerCase()}`] = value;
    if (Object.keys(o.checksums).length > 0) h['x-amz-checksum-type'] = o.checksumType ?? 'FULL_OBJECT';
  }
  return h;
}
