import { createHash } from 'node:crypto';
import http from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { signRequest } from '../http/signing';

/**
 * The requests Hadoop's S3A connector sends, as raw signed HTTP: each helper is one S3 call
 * with the parameters and headers S3A puts on it, and returns the answer as it came off the
 * wire (status, headers, body), so a scenario can assert exactly what S3 would answer.
 */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  processEntities: true,
  // Repeated elements are arrays even when there is one; the root <Error> of a failure is not.
  isArray: (name, jpath) => ['Contents', 'CommonPrefixes', 'Deleted', 'Upload', 'Part'].includes(name) || jpath === 'DeleteResult.Error',
});

/** An S3 XML answer as an object, under its root element. */
export function xml(a: Answer): Record<string, any> {
  const doc = parser.parse(a.body.toString('utf8'));
  const root = Object.keys(doc).find((k) => k !== '?xml');
  if (!root) throw new Error(`not an XML document (status ${a.status}): ${a.body.toString('utf8').slice(0, 200)}`);
  return { root, ...doc[root] };
}

/** The XML error code of a failed answer (S3 sends none with HEAD). */
export function errorCode(a: Answer): string | undefined {
  return a.body.length ? (xml(a).Code as string | undefined) : undefined;
}

export const md5Hex = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** As the AWS SDK for Java (S3A's) escapes text: the five named XML entities. */
function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

export interface ListParams {
  prefix: string;
  delimiter?: string;
  maxKeys?: number;
  token?: string;
  /** ListObjects v1 (`fs.s3a.list.version=1`) instead of v2. */
  v1Marker?: string;
}

export class S3aWire {
  constructor(
    readonly base: string,
    readonly bucket: string,
  ) {}

  /** One signed request over a fresh connection; resolves whatever the status. */
  async send(method: string, key: string, opts: { query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
    const path = key === '' ? `/${this.bucket}` : `/${this.bucket}/${key}`;
    const body = opts.body ?? '';
    const signed = await signRequest(this.base, { method, path, query: opts.query, headers: opts.headers, body });
    return new Promise((resolve, reject) => {
      const req = http.request(signed.url, { method, headers: { ...signed.headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  head(key: string): Promise<Answer> {
    return this.send('HEAD', key);
  }

  get(key: string, headers: Record<string, string> = {}): Promise<Answer> {
    return this.send('GET', key, { headers });
  }

  /** GET of a large object, hashed as it streams (never held whole): status and sha256. */
  async getDigest(key: string): Promise<{ status: number; size: number; sha256: string }> {
    const signed = await signRequest(this.base, { method: 'GET', path: `/${this.bucket}/${key}` });
    return new Promise((resolve, reject) => {
      const req = http.request(signed.url, { method: 'GET', headers: signed.headers }, (res) => {
        const hash = createHash('sha256');
        let size = 0;
        res.on('data', (d: Buffer) => {
          hash.update(d);
          size += d.length;
        });
        res.on('end', () => resolve({ status: res.statusCode!, size, sha256: hash.digest('hex') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** A file or a directory marker: S3A sends Content-Type and, with overwrite=false, If-None-Match: *. */
  put(key: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
    return this.send('PUT', key, { body, headers: { 'content-type': 'application/octet-stream', ...headers } });
  }

  /** S3A's directory marker: a zero-byte `dir/` object of type application/x-directory. */
  putMarker(dirKey: string): Promise<Answer> {
    return this.put(dirKey, '', { 'content-type': 'application/x-directory' });
  }

  list(p: ListParams): Promise<Answer> {
    const query: Record<string, string> = { prefix: p.prefix };
    if (p.delimiter !== undefined) query.delimiter = p.delimiter;
    if (p.maxKeys !== undefined) query['max-keys'] = String(p.maxKeys);
    if (p.v1Marker !== undefined) {
      if (p.v1Marker !== '') query.marker = p.v1Marker;
    } else {
      query['list-type'] = '2';
      if (p.token !== undefined) query['continuation-token'] = p.token;
    }
    return this.send('GET', '', { query });
  }

  /** Every key and common prefix under a prefix, following v2 continuation tokens. */
  async listAll(p: ListParams): Promise<{ keys: string[]; prefixes: string[]; pages: Record<string, any>[] }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    const pages: Record<string, any>[] = [];
    let token: string | undefined;
    do {
      const a = await this.list({ ...p, token });
      if (a.status !== 200) throw new Error(`LIST ${p.prefix} answered ${a.status}: ${a.body.toString()}`);
      const page = xml(a);
      pages.push(page);
      keys.push(...(page.Contents ?? []).map((c: { Key: string }) => c.Key));
      prefixes.push(...(page.CommonPrefixes ?? []).map((c: { Prefix: string }) => c.Prefix));
      token = page.IsTruncated === 'true' ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return { keys, prefixes, pages };
  }

  /** S3A's bulk delete: one POST ?delete, quiet unless asked, with Content-MD5 as S3 requires. */
  deleteObjects(keys: string[], quiet = true): Promise<Answer> {
    const objects = keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join('');
    const body = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>${quiet}</Quiet>${objects}</Delete>`;
    const contentMd5 = createHash('md5').update(body).digest('base64');
    return this.send('POST', '', { query: { delete: '' }, body, headers: { 'content-md5': contentMd5, 'content-type': 'application/xml' } });
  }

  /** CopyObject as S3A's rename does it: metadata REPLACEd with the source's own, cloned. */
  copy(srcKey: string, dstKey: string, headers: Record<string, string> = {}): Promise<Answer> {
    const source = `/${this.bucket}/${srcKey.split('/').map(encodeURIComponent).join('/')}`;
    return this.send('PUT', dstKey, { headers: { 'x-amz-copy-source': source, 'x-amz-metadata-directive': 'REPLACE', ...headers } });
  }

  /** getFileStatus as S3A probes it: HEAD key, HEAD key/ (pre-3.3 releases), LIST key/ with
   * delimiter / and max-keys 2. Each answer is checked to be one S3 could give. */
  async getFileStatus(key: string): Promise<FileStatus> {
    const file = await this.head(key);
    if (file.status === 200) return { kind: 'file', size: Number(file.headers['content-length']), etag: String(file.headers.etag) };
    expectStatus(file, 404, `HEAD ${key}`);
    const marker = await this.head(`${key}/`);
    if (marker.status !== 200) expectStatus(marker, 404, `HEAD ${key}/`);
    const listing = await this.list({ prefix: `${key}/`, delimiter: '/', maxKeys: 2 });
    expectStatus(listing, 200, `LIST ${key}/`);
    const page = xml(listing);
    const children = [
      ...(page.Contents ?? []).map((c: { Key: string }) => c.Key).filter((k: string) => k !== `${key}/`),
      ...(page.CommonPrefixes ?? []).map((c: { Prefix: string }) => c.Prefix),
    ];
    if (marker.status === 200 || children.length > 0 || (page.Contents ?? []).length > 0) {
      return { kind: 'dir', empty: children.length === 0, marker: marker.status === 200 };
    }
    return { kind: 'missing' };
  }
}

export type FileStatus =
  | { kind: 'file'; size: number; etag: string }
  | { kind: 'dir'; empty: boolean; marker: boolean }
  | { kind: 'missing' };

export function expectStatus(a: Answer, status: number, what: string): void {
  if (a.status !== status) throw new Error(`${what}: expected ${status}, got ${a.status} ${a.body.toString('utf8').slice(0, 300)}`);
}
