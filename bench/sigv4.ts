import { createHash, createHmac } from 'node:crypto';

/**
 * A minimal AWS Signature Version 4 signer for the benchmark's raw HTTP client, written from
 * the SigV4 spec (independently of the gateway's verifier): canonical request → string to
 * sign → HMAC chain signing key → signature in the Authorization header. The body is never
 * hashed: every request is signed with `x-amz-content-sha256: UNSIGNED-PAYLOAD`, as an SDK
 * does over TLS, so the client spends no CPU on SHA-256 and the server verifies no payload hash.
 */

export interface Credentials {
  accessKeyId: string;
  secretKey: string;
}

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface RequestToSign {
  method: string;
  /** `host[:port]` exactly as sent in the Host header. */
  host: string;
  /** The path as sent on the request line, already URI-encoded (see `encodePath`). */
  path: string;
  /** Query parameters, unencoded. */
  query?: Record<string, string>;
  /** Extra headers to send and sign (lower- or mixed-case names). */
  headers?: Record<string, string>;
}

/** AWS's URI encoding: every byte but A–Z a–z 0–9 - _ . ~ as %XX (uppercase hex). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `/bucket/key/with/slashes` with each segment URI-encoded (S3 does not double-encode). */
export function encodePath(bucket: string, key = ''): string {
  const segments = key === '' ? [bucket] : [bucket, ...key.split('/')];
  return '/' + segments.map(uriEncode).join('/');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export class SigV4Signer {
  private keyDate = '';
  private key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly creds: Credentials,
    private readonly region = 'us-east-1',
    private readonly service = 's3',
  ) {}

  /** The headers to send: the request's own, plus host, x-amz-date, x-amz-content-sha256 and
   * authorization. Every header passed in is signed. */
  sign(req: RequestToSign, now = new Date()): Record<string, string> {
    const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // YYYYMMDDTHHMMSSZ
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
    headers['host'] = req.host;
    headers['x-amz-date'] = amzDate;
    headers['x-amz-content-sha256'] ??= UNSIGNED_PAYLOAD;

    const names = Object.keys(headers).sort();
    const canonicalHeaders = names.map((n) => `${n}:${headers[n].trim().replace(/[ \t]+/g, ' ')}\n`).join('');
    const signedHeaders = names.join(';');
    const canonicalQuery = Object.entries(req.query ?? {})
      .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonicalRequest = [req.method, req.path, canonicalQuery, canonicalHeaders, signedHeaders, headers['x-amz-content-sha256']].join('\n');

    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
    const signature = createHmac('sha256', this.signingKey(day)).update(stringToSign, 'utf8').digest('hex');
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${this.creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  /** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request"),
   * derived once per day. */
  private signingKey(day: string): Buffer {
    if (day !== this.keyDate) {
      let k = hmac(`AWS4${this.creds.secretKey}`, day);
      k = hmac(k, this.region);
      k = hmac(k, this.service);
      this.key = hmac(k, 'aws4_request');
      this.keyDate = day;
    }
    return this.key;
  }
}
