import { createHash } from 'node:crypto';
import net from 'node:net';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type TestServer, openSuite, closeSuite, pseudoRandom } from '../harness';
import { signRequest } from './signing';

/**
 * A seeded, bounded fuzz of malformed requests over raw sockets (and some through fetch):
 * random methods, paths of random bytes and escapes, random query strings, random, repeated
 * and oversized headers, truncated and chunked bodies, junk XML to the subresources, signed
 * and unsigned. Every answer must be S3's: no 5xx but 501/503, an XML <Error> body on every
 * error answer (HEAD and 304 aside), no hang; the server stays up and a canary object written
 * first reads back byte-exact. The seed is in the test name: a failure replays exactly.
 */
const SEED = Number(process.env.RFS_FUZZ_SEED ?? 0x5eed2026);
const REQUESTS = 3000;
const CONCURRENCY = 24;
const REQUEST_TIMEOUT_MS = 10_000;

let server: TestServer;
let s3: S3Client;
let port: number;
const bucket = 'fuzz-target';
const CANARY_KEY = 'canary/object ü';
const canary = pseudoRandom(300_000, 7);

beforeAll(async () => {
  ({ server, s3 } = await openSuite(bucket));
  port = Number(new URL(server.url).port);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: CANARY_KEY, Body: canary, ContentType: 'application/x-canary' }));
});
afterAll(() => closeSuite({ server, s3 }));

/** mulberry32: a tiny PRNG, so a seed replays the same requests. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** n random bytes; past 4 KiB, a random 4 KiB block repeated (cheap, and still junk). */
  bytes(n: number): Buffer {
    const block = Buffer.alloc(Math.min(n, 4096));
    for (let i = 0; i < block.length; i++) block[i] = this.int(256);
    return n <= block.length ? block : Buffer.alloc(n, block);
  }
  /** Text as a client means it (signed requests encode it): letters, separators, controls,
   * NUL, non-ASCII, astral characters. */
  text(max: number): string {
    const pieces = ['a', 'b', 'Z', '0', '9', '-', '_', '.', '~', '/', ' ', '%', '+', '&', '=', '?', '#', ';', ',', '*', '(', "'", '"', '<', '>',
      '\0', '\r', '\n', '\t', '\u0001', '\u007f', 'é', 'ü', '日本', '\u{1f600}', '\ufffd', '\u0085', '\u2028', '%00', '%ZZ', '..', '//'];
    let s = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) s += this.chance(0.6) ? String.fromCharCode(97 + this.int(26)) : this.pick(pieces);
    return s;
  }
  /** Bytes as they go on the wire in a URL: valid and invalid escapes, raw high bytes. */
  rawUrlPart(max: number): string {
    let s = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) {
      const r = this.int(12);
      if (r < 5) s += String.fromCharCode(97 + this.int(26));
      else if (r < 7) s += `%${this.int(256).toString(16).padStart(2, '0')}`;
      else if (r === 7) s += this.pick(['%ZZ', '%', '%C3%28', '%E0%A4', '%F0%9F%98', '%ED%A0%80', '%00', '%2F', '%25', '%2', '%C0%AF']);
      else if (r === 8) s += String.fromCharCode(0x80 + this.int(128));
      else if (r === 9) s += this.pick(['/', '//', '..', '.', ';', '=', '&', '+', '!', '$', '@', ':', '*', '~']);
      else if (r === 10) s += this.pick(['%E6%97%A5', '%C3%A9', '%F0%9F%98%80', '%EF%BF%BD']);
      else s += this.pick(['-', '_', '.', '0', '9']);
    }
    return s;
  }
}

const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'HEAD', 'PUT', 'PUT', 'PUT', 'POST', 'POST', 'DELETE', 'DELETE', 'OPTIONS',
  'PATCH', 'QUERY', 'PROPFIND', 'TRACE', 'MKCOL', 'LOCK', 'COPY', 'MOVE', 'SEARCH', 'PURGE', 'CONNECT', 'FOO', 'get', 'G\u00c9T'];

const SUBRESOURCES = ['acl', 'cors', 'tagging', 'versioning', 'delete', 'uploads', 'versions', 'location', 'policy', 'policyStatus',
  'publicAccessBlock', 'ownershipControls', 'attributes', 'lifecycle', 'website', 'retention', 'select', 'restore', 'torrent'];

const PARAMS = ['list-type', 'prefix', 'delimiter', 'marker', 'max-keys', 'continuation-token', 'start-after', 'encoding-type',
  'fetch-owner', 'key-marker', 'upload-id-marker', 'version-id-marker', 'max-uploads', 'max-parts', 'part-number-marker',
  'partNumber', 'uploadId', 'versionId', 'response-content-type', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-cache-control', 'response-expires', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date',
  'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token', 'x-id', 'Action', 'Version'];

const XML_BODIES: Record<string, string> = {
  tagging: '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>',
  cors: '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>10</MaxAgeSeconds></CORSRule></CORSConfiguration>',
  versioning: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
  delete: '<Delete><Quiet>false</Quiet><Object><Key>k1</Key></Object><Object><Key>k2</Key><VersionId>null</VersionId></Object></Delete>',
  acl: '<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>x</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>',
  publicAccessBlock: '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls></PublicAccessBlockConfiguration>',
  ownershipControls: '<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>',
  uploadId: '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>',
  create: '<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>',
  policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::fuzz-target/*"}]}',
};

const JUNK_INSERTS = ['\0', '&#0;', '&#x0;', '&#xD800;', '&#1;', '&', '<', '>', ']]>', '<![CDATA[', '<!--', '<!DOCTYPE x [<!ENTITY a "aaaa">]>', '&a;',
  '&lt;', '&amp;', '\u0001', '\r\n', '日本', '\u{1f600}', '\ufffd', '<x>', '</x>', '"', "'", '=', '\\u0000', '99999999999999999999', '-1', ''];

/** A structurally valid S3 document, damaged. */
function junkXml(g: Gen, template: string): string {
  let s = template;
  const edits = g.int(4);
  for (let i = 0; i < edits; i++) {
    const at = g.int(s.length + 1);
    const r = g.int(6);
    if (r === 0) s = s.slice(0, at);
    else if (r === 1) s = s.slice(0, at) + g.pick(JUNK_INSERTS) + s.slice(at);
    else if (r === 2) s = s.slice(0, at) + g.text(20) + s.slice(at);
    else if (r === 3) s = s.slice(0, at) + s.slice(at + g.int(10));
    else if (r === 4) s = s.replace('<Key>k</Key>', `<Key>${'k'.repeat(g.int(3000))}</Key>`).replace('<Tag>', '<Tag><Key>d</Key>');
    else s = `${'<a>'.repeat(g.int(3000))}${s}`;
  }
  return s;
}

interface FuzzRequest {
  method: string;
  /** Request target as sent (already encoded). */
  target: string;
  headers: [string, string][];
  body: Buffer;
  /** The body is sent chunked (possibly malformed chunks). */
  chunked: boolean;
  /** The client stops early (fewer body bytes than declared) and half-closes. */
  truncated: boolean;
  /** The head itself is malformed on purpose: any S3 error or a close is fine. */
  malformedHead: boolean;
  signed: boolean;
}

function randomKey(g: Gen): string {
  for (;;) {
    const k = g.chance(0.7) ? `f/${g.text(30)}` : g.pick(['k', 'k1', 'obj', 'a/b/c', `${'x'.repeat(1100)}`, ' ', '..', '.', 'dir/', g.text(5)]);
    if (k !== CANARY_KEY) return k;
  }
}

function randomBucket(g: Gen): string {
  return g.chance(0.8) ? bucket : g.pick(['', 'fuzz-other', 'Fuzz-Target', 'a', 'xn--bad', '192.168.0.1', `fz-${g.int(1000)}`, g.text(10), '_rfs']);
}

function junkHeaderValue(g: Gen): string {
  return g.pick([
    '', ' ', ';;;', 'x'.repeat(g.int(3000)), g.text(40).replace(/[\r\n\0]/g, ''), 'bytes=0-', 'bytes=abc', 'bytes=-0', 'bytes=5-1,2-3',
    '"etag"', '*', 'Thu, 01 Jan 1970 00:00:00 GMT', 'not a date', '-1', '99999999999999999999', 'AAAAAA==', '!!!', 'null',
    'UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'aws-chunked', 'gzip',
    'multipart/form-data', 'multipart/form-data; boundary=', 'application/xml', '100-continue', 'é\u00ff', '%00', 'a%0Ab',
  ]);
}

const HEADER_NAMES = ['content-type', 'content-md5', 'x-amz-content-sha256', 'authorization', 'x-amz-date', 'range', 'if-match',
  'if-none-match', 'if-modified-since', 'if-unmodified-since', 'x-amz-meta-a', 'x-amz-meta-Ünï', 'x-amz-tagging', 'x-amz-copy-source',
  'x-amz-copy-source-range', 'x-amz-acl', 'x-amz-grant-read', 'x-amz-grant-full-control', 'expect', 'origin',
  'access-control-request-method', 'access-control-request-headers', 'x-amz-checksum-crc32', 'x-amz-checksum-sha256',
  'x-amz-sdk-checksum-algorithm', 'x-amz-checksum-algorithm', 'x-amz-decoded-content-length', 'content-encoding',
  'x-amz-metadata-directive', 'x-amz-tagging-directive', 'x-amz-object-ownership', 'x-amz-bucket-object-lock-enabled',
  'x-amz-security-token', 'x-amz-expected-bucket-owner', 'x-amz-checksum-mode', 'x-amz-trailer', 'x-amz-mp-object-size',
  'cache-control', 'content-disposition', 'expires', 'x-amz-storage-class', 'x-amz-server-side-encryption', 'x-amz-write-offset-bytes',
  'if-match', 'host', 'x-forwarded-for', 'x-amz-request-payer'];

function randomHeaderValue(g: Gen, name: string): string {
  if (name === 'x-amz-copy-source') return g.pick([`/${bucket}/${encodeURIComponent(randomKey(g))}`, `${bucket}/${g.rawUrlPart(20)}`, `/${bucket}/${CANARY_KEY}?versionId=${g.rawUrlPart(8)}`, g.rawUrlPart(30), '/', '']);
  if (name === 'x-amz-tagging') return g.pick(['a=b', 'a=%00', '%ZZ=1', 'a=b&a=c', `${g.rawUrlPart(20)}=${g.rawUrlPart(20)}`, '&&&', '=']);
  if (name === 'authorization') return g.pick(['AWS4-HMAC-SHA256 Credential=RFSTESTROOTKEY000001/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00', 'AWS abc:def', 'AWS4-HMAC-SHA256', 'Bearer x', junkHeaderValue(g)]);
  if (name === 'host') return g.pick(['', 'fuzz-target.localhost', 'x:99999', '[::1]', `${g.text(10).replace(/[\r\n\0 ]/g, '')}.example`]);
  return junkHeaderValue(g);
}

function buildRequest(g: Gen): FuzzRequest {
  const signed = g.chance(0.5);
  // Signed requests mostly use S3's methods, so they get past authentication to the handlers.
  const method = signed && g.chance(0.9) ? g.pick(['GET', 'HEAD', 'PUT', 'PUT', 'POST', 'DELETE']) : g.pick(METHODS);
  const b = randomBucket(g);
  const objectScope = g.chance(0.55);
  const key = objectScope ? randomKey(g) : '';
  // Unsigned requests also carry raw, possibly invalid, escapes in the path.
  const path = signed || g.chance(0.5)
    ? `/${encodeURIComponent(b)}${objectScope ? `/${key.split('/').map(encodeURIComponent).join('/')}` : ''}`
    : `/${g.rawUrlPart(12)}${g.chance(0.7) ? `/${g.rawUrlPart(40)}` : ''}`;
  const query: [string, string][] = [];
  if (g.chance(0.5)) query.push([g.pick(SUBRESOURCES), g.chance(0.8) ? '' : g.text(5)]);
  const nParams = g.chance(0.5) ? g.int(5) : 0;
  for (let i = 0; i < nParams; i++) query.push([g.chance(0.9) ? g.pick(PARAMS) : g.text(6), g.text(g.chance(0.1) ? 2000 : 20)]);
  const encodedQuery = query
    .map(([k, v]) => (signed || g.chance(0.6) ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${g.rawUrlPart(8)}=${g.rawUrlPart(20)}`))
    .join('&');
  const target = `${path}${encodedQuery ? `?${encodedQuery}` : ''}`;

  const headers: [string, string][] = [];
  const nHeaders = g.int(6);
  for (let i = 0; i < nHeaders; i++) {
    const name = g.pick(HEADER_NAMES);
    headers.push([name, randomHeaderValue(g, name)]);
    if (g.chance(0.1)) headers.push([name, randomHeaderValue(g, name)]);
  }
  if (g.chance(0.02)) headers.push(['x-amz-meta-huge', 'h'.repeat(8_000 + g.int(70_000))]);
  let malformedHead = false;
  if (g.chance(0.03)) {
    malformedHead = true;
    headers.push(g.pick([['x-bad', 'a\rb'], ['x-bad', 'a\0b'], ['bad name', 'v'], ['', 'v'], ['x-bad', 'a\nb'], ['x-\u00ff', 'v']] as [string, string][]));
  }

  let body = Buffer.alloc(0);
  const sub = query.find(([k]) => SUBRESOURCES.includes(k) || k === 'uploadId')?.[0];
  const r = g.int(10);
  if (r < 3) body = Buffer.alloc(0);
  else if (r < 7) body = Buffer.from(junkXml(g, XML_BODIES[sub ?? (objectScope ? 'tagging' : 'create')] ?? XML_BODIES.tagging));
  else if (r < 9) body = g.bytes(g.int(3000));
  else body = g.chance(0.2) ? g.bytes(200_000 + g.int(600_000)) : Buffer.from(junkXml(g, XML_BODIES[g.pick(Object.keys(XML_BODIES))]));
  if (body.length > 0 && !headers.some(([n]) => n === 'content-md5') && g.chance(0.3)) headers.push(['content-md5', createHash('md5').update(body).digest('base64')]);
  return { method, target, headers, body, chunked: g.chance(0.08), truncated: g.chance(0.06), malformedHead, signed };
}

/** Signs the request for its decoded path and query, as an SDK would, headers included. */
async function sign(req: FuzzRequest, g: Gen): Promise<FuzzRequest | undefined> {
  const q = req.target.indexOf('?');
  const rawPath = q < 0 ? req.target : req.target.slice(0, q);
  const query: Record<string, string> = {};
  try {
    for (const [k, v] of new URLSearchParams(q < 0 ? '' : req.target.slice(q + 1))) query[k] = v;
    const headers = Object.fromEntries(req.headers.filter(([n]) => !['authorization', 'host', 'x-amz-date', 'x-amz-content-sha256'].includes(n) && !req.malformedHead));
    const payloadHash = g.pick([undefined, undefined, undefined, undefined, 'UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD', '0'.repeat(64)]);
    const s = await signRequest(server.url, { method: req.method, path: decodeURIComponent(rawPath), query, headers, body: req.body }, { payloadHash });
    const u = new URL(s.url);
    return { ...req, target: `${u.pathname}${u.search}`, headers: Object.entries(s.headers) };
  } catch {
    return undefined; // A request the signer cannot express (a lone surrogate, say).
  }
}

/** The body in chunked encoding; `complete: false` when its end is broken or missing (the
 * client then half-closes, as one that gave up would). */
function chunkedBody(g: Gen, body: Buffer): { payload: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length;) {
    const n = 1 + g.int(4000);
    const chunk = body.subarray(i, i + n);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    i += n;
  }
  const complete = g.chance(0.8);
  parts.push(Buffer.from(complete ? '0\r\n\r\n' : g.pick(['zz\r\n', '0\r\n', '5\r\nab\r\n', '-1\r\n\r\n', ''])));
  return { payload: Buffer.concat(parts), complete };
}

interface Outcome {
  status?: number;
  headers: Record<string, string>;
  body: string;
  closedWithoutAnswer: boolean;
  timedOut: boolean;
  error?: string;
}

function parseHead(text: string): { status: number; headers: Record<string, string>; rest: string } | undefined {
  // Interim answers (100 Continue) come before the real one.
  let t = text;
  while (/^HTTP\/1\.1 1\d\d /.test(t) && t.includes('\r\n\r\n')) t = t.slice(t.indexOf('\r\n\r\n') + 4);
  const end = t.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = t.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const c = line.indexOf(':');
    headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { status: Number(m[1]), headers, rest: t.slice(end + 4) };
}

function sendRaw(req: FuzzRequest, g: Gen): Promise<Outcome> {
  const lines = [`${req.method} ${req.target} HTTP/1.1`];
  if (!req.headers.some(([n]) => n === 'host') && g.chance(0.97)) lines.push(`host: 127.0.0.1:${port}`);
  for (const [n, v] of req.headers) lines.push(`${n}: ${v}`);
  let payload = req.body;
  let halfClose = req.truncated;
  if (req.chunked) {
    lines.push('transfer-encoding: chunked');
    const chunked = chunkedBody(g, req.body);
    payload = chunked.payload;
    halfClose ||= !chunked.complete;
  } else if (req.body.length > 0 || g.chance(0.3)) {
    lines.push(`content-length: ${req.body.length + (req.truncated ? 1 + g.int(100_000) : 0)}`);
  }
  lines.push('connection: close');
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let error: string | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', (d) => parts.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(parts).toString('latin1');
      const parsed = parseHead(text);
      if (!parsed) {
        resolve({ headers: {}, body: '', closedWithoutAnswer: true, timedOut, error });
        return;
      }
      const length = parsed.headers['content-length'];
      const body = req.method === 'HEAD' ? '' : length !== undefined ? parsed.rest.slice(0, Number(length)) : parsed.rest;
      resolve({ status: parsed.status, headers: parsed.headers, body, closedWithoutAnswer: false, timedOut, error });
    });
    socket.write(head);
    socket.write(payload, () => {
      if (halfClose) socket.end();
    });
  });
}

async function sendFetch(req: FuzzRequest): Promise<Outcome | undefined> {
  const headers = new Headers();
  try {
    for (const [n, v] of req.headers) if (n !== 'host') headers.append(n, v);
    const res = await fetch(`${server.url}${req.target}`, {
      method: req.method,
      headers,
      body: ['GET', 'HEAD'].includes(req.method) || req.body.length === 0 ? undefined : req.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await res.text();
    return { status: res.status, headers: Object.fromEntries(res.headers), body, closedWithoutAnswer: false, timedOut: false };
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') return { headers: {}, body: '', closedWithoutAnswer: true, timedOut: true };
    return undefined; // fetch refused to send it (a forbidden method or header): not the server's doing.
  }
}

/** What is wrong with an answer, if anything. */
function judge(req: FuzzRequest, o: Outcome): string | undefined {
  if (o.timedOut) return 'no answer within the timeout';
  if (o.closedWithoutAnswer) {
    // A deliberate close is an answer to a client that stopped sending or broke the framing.
    return req.truncated || req.chunked || req.malformedHead ? undefined : `closed without an answer (${o.error ?? 'clean close'})`;
  }
  const status = o.status!;
  if (status >= 500 && status !== 501 && status !== 503) return `status ${status}`;
  // S3's <Error>, or STS's <ErrorResponse><Error> for POST / (the STS endpoint).
  if (status >= 400 && req.method !== 'HEAD' && !/^<\?xml[^>]*>\s*(<ErrorResponse [^>]*>)?<Error>[\s\S]*<Code>[A-Za-z0-9.]+<\/Code>[\s\S]*<\/Error>/.test(o.body)) return `status ${status} without an XML <Error> body`;
  return undefined;
}

test(`fuzz: ${REQUESTS} malformed requests, seed 0x${SEED.toString(16)}`, async () => {
  const g = new Gen(SEED);
  // Generated up front, in order, so the sequence depends on the seed alone.
  const plans = Array.from({ length: REQUESTS }, () => ({ req: buildRequest(g), viaFetch: g.chance(0.15), seed: g.int(2 ** 31) }));
  const failures: string[] = [];
  const statuses = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const i = next++;
      const plan = plans[i];
      const local = new Gen(plan.seed);
      const req = plan.req.signed ? await sign(plan.req, local) : plan.req;
      if (!req) continue;
      const outcome = plan.viaFetch && !req.chunked && !req.truncated && !req.malformedHead ? await sendFetch(req) : await sendRaw(req, local);
      if (!outcome) continue;
      const key = outcome.status === undefined ? 'closed' : String(outcome.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      const wrong = judge(req, outcome);
      if (wrong) {
        failures.push(`#${i} ${req.method} ${JSON.stringify(req.target.slice(0, 200))} ${req.signed ? 'signed' : 'unsigned'}${plan.viaFetch ? ' fetch' : ''}: ${wrong}; headers ${JSON.stringify(req.headers.map(([n, v]) => [n, v.slice(0, 60)]).slice(0, 12))}; body ${JSON.stringify(req.body.subarray(0, 120).toString('latin1'))}; answer ${JSON.stringify(outcome.body.slice(0, 300))}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (failures.length > 0) console.log(`${failures.length} bad answers; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n${failures.slice(0, 30).join('\n')}`);
  expect(failures.slice(0, 10)).toEqual([]);

  // Still alive, and the canary is intact.
  const health = await fetch(`${server.url}/_rfs/health`);
  expect(health.status).toBe(200);
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: CANARY_KEY }));
  expect(got.ContentType).toBe('application/x-canary');
  expect(Buffer.from(await got.Body!.transformToByteArray()).equals(canary)).toBe(true);
  // Whatever else the fuzz created, it created through S3 calls: the listing still works and
  // names the canary once.
  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'canary/' }));
  expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual([[CANARY_KEY, canary.length]]);
}, 120_000);
