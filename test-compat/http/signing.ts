import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { ROOT } from '../harness';

/** Node's crypto in the shape @smithy/signature-v4 wants. */
class NodeSha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

export interface RawRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

function toBytes(d: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof d === 'string') return d;
  return ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);
}

/** Signs a raw request with the AWS SDK's own SigV4 signer and returns URL + headers. */
export async function signRequest(
  base: string,
  req: RawRequest,
  opts: { keys?: { accessKeyId: string; secretKey: string }; date?: Date; payloadHash?: string } = {},
): Promise<{ url: string; headers: Record<string, string>; signature: string }> {
  const keys = opts.keys ?? ROOT;
  const u = new URL(base);
  const signer = new SignatureV4({
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretKey },
    region: 'us-east-1',
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const body = req.body ?? '';
  const headers: Record<string, string> = {
    host: u.host,
    'x-amz-content-sha256': opts.payloadHash ?? createHash('sha256').update(body).digest('hex'),
    ...req.headers,
  };
  // As the S3 SDK does: the path is URI-encoded once, and signed as it is sent.
  const path = req.path.split('/').map(encodeSegment).join('/');
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, query: req.query ?? {}, headers, body },
    { signingDate: opts.date },
  );
  const qs = new URLSearchParams(req.query ?? {}).toString();
  const url = `${base}${path}${qs ? `?${qs}` : ''}`;
  const signature = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)![1];
  return { url, headers: signed.headers as Record<string, string>, signature };
}

function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** An X-Amz-Date value (20240102T030405Z). */
function amzDateOf(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The SigV4 signing key of a day (yyyymmdd) in us-east-1 for s3: the HMAC chain of the spec. */
function signingKey(secret: string, day: string): Buffer {
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(day).digest();
  for (const part of ['us-east-1', 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return key;
}

/** A POST policy condition: { field: exact value } or [op, '$field' | field, value...]. */
export type PolicyCondition = Record<string, string> | (string | number)[];

export interface PostPolicy {
  bucket: string;
  /** Conditions besides bucket and the auth fields, in order. */
  conditions?: PolicyCondition[];
  /** Default: ten minutes from now. */
  expiration?: Date;
  keys?: { accessKeyId: string; secretKey: string };
}

/**
 * The signed fields of a SigV4 POST form, computed from the spec with node:crypto (not by the
 * server's code): policy = base64 of the JSON policy (bucket, the conditions, the auth fields),
 * x-amz-signature = hex HMAC of that base64 under the day's signing key.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 * In form order: x-amz-algorithm, x-amz-credential, x-amz-date, policy, x-amz-signature.
 */
export function signPostPolicy(p: PostPolicy): [string, string][] {
  const keys = p.keys ?? ROOT;
  const amzDate = amzDateOf(new Date());
  const day = amzDate.slice(0, 8);
  const auth: [string, string][] = [
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-credential', `${keys.accessKeyId}/${day}/us-east-1/s3/aws4_request`],
    ['x-amz-date', amzDate],
  ];
  const policy = Buffer.from(
    JSON.stringify({
      expiration: (p.expiration ?? new Date(Date.now() + 600_000)).toISOString(),
      conditions: [{ bucket: p.bucket }, ...(p.conditions ?? []), ...auth.map(([k, v]) => ({ [k]: v }))],
    }),
  ).toString('base64');
  const signature = createHmac('sha256', signingKey(keys.secretKey, day)).update(policy).digest('hex');
  return [...auth, ['policy', policy], ['x-amz-signature', signature]];
}

/**
 * An aws-chunked body with per-chunk signatures, computed from the SigV4 streaming spec
 * (independently of the server's code): each chunk signs the previous signature.
 */
export function signedChunkedBody(
  data: Buffer,
  chunkSize: number,
  seedSignature: string,
  date: Date,
  secret = ROOT.secretKey,
  trailer?: { name: string; value: string },
): Buffer {
  const amzDate = amzDateOf(date);
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const key = signingKey(secret, day);
  let prev = seedSignature;
  const parts: Buffer[] = [];
  const sign = (payload: Buffer) => {
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, EMPTY_SHA256, createHash('sha256').update(payload).digest('hex')].join('\n');
    prev = createHmac('sha256', key).update(sts).digest('hex');
    return prev;
  };
  for (let i = 0; i < data.length; i += chunkSize) {
    const chunk = data.subarray(i, i + chunkSize);
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sign(chunk)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0;chunk-signature=${sign(Buffer.alloc(0))}\r\n`));
  if (trailer) {
    const lines = `${trailer.name}:${trailer.value}\n`;
    const sts = ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, prev, createHash('sha256').update(lines).digest('hex')].join('\n');
    const trailerSig = createHmac('sha256', key).update(sts).digest('hex');
    parts.push(Buffer.from(`${trailer.name}:${trailer.value}\r\nx-amz-trailer-signature:${trailerSig}\r\n`));
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}
