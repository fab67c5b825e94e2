/** Percent-decoding and AWS's URI encoding, byte-exact, for canonical URIs and query strings. */

const HEX = '0123456789ABCDEF';

/** `%XX` for every byte, except the unreserved characters, which stay literal. */
const ENCODED: string[] = Array.from({ length: 256 }, (_, b) => {
  const c = String.fromCharCode(b);
  return /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${HEX[b >> 4]}${HEX[b & 15]}`;
});

const UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-_.~/]*$/;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * The bytes a raw URI component stands for. `%XX` becomes the byte; a `%` not followed by two hex
 * digits stays a literal `%`; `+` becomes a space only in query strings (form encoding, as S3 reads
 * queries). Non-ASCII characters (Node refuses them on the request line, but other callers may not)
 * are taken as UTF-8.
 */
export function percentDecode(raw: string, plusIsSpace: boolean): Buffer {
  const out = Buffer.allocUnsafe(Buffer.byteLength(raw, 'utf8'));
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 && i + 2 < raw.length) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
      out[n++] = c;
    } else if (c === 0x2b && plusIsSpace) {
      out[n++] = 0x20;
    } else if (c < 0x80) {
      out[n++] = c;
    } else {
      const cp = raw.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      n += out.write(ch, n, 'utf8');
      i += ch.length - 1;
    }
  }
  return out.subarray(0, n);
}

/** AWS's UriEncode: unreserved bytes kept, `/` kept when `keepSlash`, every other byte `%XX` uppercase. */
export function awsUriEncode(bytes: Uint8Array, keepSlash: boolean): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    s += keepSlash && b === 0x2f ? '/' : ENCODED[b];
  }
  return s;
}

/** The canonical URI of an S3 request: decoded and re-encoded, with no `.`/`..` or `//` normalisation. */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  if (UNRESERVED_OR_SLASH.test(rawPath)) return rawPath;
  return awsUriEncode(percentDecode(rawPath, false), true);
}

/** One query parameter: decoded (for lookups) and canonically encoded (for signing). */
export interface QueryParam {
  name: string;
  value: string;
  encodedName: string;
  encodedValue: string;
}

function queryPart(raw: string): { text: string; encoded: string } {
  if (UNRESERVED.test(raw)) return { text: raw, encoded: raw };
  const bytes = percentDecode(raw, true);
  return { text: bytes.toString('utf8'), encoded: awsUriEncode(bytes, false) };
}

/** The parameters of a raw query string, in order; `a` and `a=` both give an empty value. */
export function parseQuery(rawQuery: string): QueryParam[] {
  const params: QueryParam[] = [];
  if (rawQuery === '') return params;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = queryPart(eq < 0 ? part : part.slice(0, eq));
    const value = queryPart(eq < 0 ? '' : part.slice(eq + 1));
    params.push({ name: name.text, value: value.text, encodedName: name.encoded, encodedValue: value.encoded });
  }
  return params;
}
