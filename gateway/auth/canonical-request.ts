import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../protocol/errors';
import type { QueryParam } from './uri-encoding';
import { byteString } from '../protocol/headers';

/** The canonical query string: every parameter but `omit`, encoded, sorted by name then value. */
export function canonicalQuery(params: readonly QueryParam[], omit?: string): string {
  const pairs: Array<[string, string]> = [];
  for (const p of params) if (p.name !== omit) pairs.push([p.encodedName, p.encodedValue]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let s = '';
  for (const [name, value] of pairs) s += (s ? '&' : '') + name + '=' + value;
  return s;
}

/** A header value as SigV4 signs it: trimmed, runs of spaces and tabs collapsed to one space. */
export function canonicalHeaderValue(value: string): string {
  return value.replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/** Looks up the values of a request header by lower-case name, repeated headers in arrival order. */
export type HeaderLookup = (name: string) => string[] | undefined;

/** Header lookup over `rawHeaders` when given (exact repeated values), else over Node's `headers`. */
export function headerLookup(headers: IncomingHttpHeaders, rawHeaders?: readonly string[]): HeaderLookup {
  if (rawHeaders) {
    let byName: Map<string, string[]> | undefined;
    return (name) => {
      if (!byName) {
        byName = new Map();
        for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
          const key = rawHeaders[i]!.toLowerCase();
          const values = byName.get(key);
          if (values) values.push(rawHeaders[i + 1]!);
          else byName.set(key, [rawHeaders[i + 1]!]);
        }
      }
      return byName.get(name);
    };
  }
  return (name) => {
    const v = headers[name];
    return v === undefined ? undefined : Array.isArray(v) ? v : [v];
  };
}

/** The canonical headers block (`name:value\n` per signed header), a byte string (see
 * byteString). A signed header the request lacks cannot have been signed as sent: S3 answers
 * SignatureDoesNotMatch. */
export function canonicalHeaders(signedHeaders: readonly string[], lookup: HeaderLookup): string {
  let block = '';
  for (const name of signedHeaders) {
    const values = lookup(name);
    if (!values) throw new S3Error('SignatureDoesNotMatch');
    block += name + ':' + values.map((v) => canonicalHeaderValue(byteString(v))).join(',') + '\n';
  }
  return block;
}

/** The canonical request, whose hash is signed: a byte string (every part but the header
 * values is ASCII), to be hashed as `Buffer.from(canonical, 'latin1')`. */
export function canonicalRequest(parts: {
  method: string;
  uri: string;
  query: string;
  headers: string;
  signedHeaders: string;
  hashedPayload: string;
}): string {
  return `${parts.method}\n${parts.uri}\n${parts.query}\n${parts.headers}\n${parts.signedHeaders}\n${parts.hashedPayload}`;
}
