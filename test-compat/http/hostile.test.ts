import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type TestServer, openSuite, closeSuite } from '../harness';
import { signRequest } from './signing';
import { errorCode as code, rawRequest, signedRequest, type Answer } from './raw';

/**
 * Hostile and malformed requests, over raw HTTP and raw sockets: every one gets an S3 answer
 * (a 4xx with an XML error body, or 405 for a method S3 does not know), never a 500, an
 * empty Node error or a dropped connection.
 */
let server: TestServer;
let s3: S3Client;
let port: number;
const bucket = 'http-hostile';

beforeAll(async () => {
  ({ server, s3 } = await openSuite(bucket));
  port = Number(new URL(server.url).port);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'hello', ContentType: 'text/plain' }));
});
afterAll(() => closeSuite({ server, s3 }));

/** Each on a connection of its own: an answer may close it. */
const request = (method: string, url: string, headers: Record<string, string> = {}, body?: Buffer | string) => rawRequest(method, url, headers, body, true);
const signed = (method: string, path: string, init?: Parameters<typeof signedRequest>[3]) => signedRequest(server.url, method, path, init, {}, true);



/** Bytes written as they are on a fresh socket; the answer is everything read until the
 * server closes (or `ms` passes). `error` is the socket error, if any. */
function socketExchange(data: string | Buffer, ms = 3000): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (d) => parts.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(parts).toString('latin1'), error });
    });
    socket.write(data);
  });
}

/** The first HTTP answer in raw socket output. */
function parseAnswer(text: string): Answer {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: http.IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  return { status: Number(statusLine.split(' ')[1]), headers, body: end < 0 ? '' : text.slice(end + 4, end + 4 + length) };
}


function field(a: Answer, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(a.body)?.[1];
}

const OVERRIDES = [
  'response-content-type', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-cache-control', 'response-expires',
];

describe('response-* overrides Node cannot put in a header: 400 InvalidArgument, GET and HEAD', () => {
  test.each(OVERRIDES)('%s with a CR/LF or a control character', async (param) => {
    for (const value of ['a\r\nx-injected: 1', 'a\nb', 'x\u0001y', 'del\u007f', 'nul\u0000']) {
      const get = await signed('GET', `/${bucket}/obj`, { query: { [param]: value } });
      expect([get.status, code(get), field(get, 'ArgumentName')]).toEqual([400, 'InvalidArgument', param]);
      expect(get.headers['x-injected']).toBeUndefined();
      const head = await signed('HEAD', `/${bucket}/obj`, { query: { [param]: value } });
      expect([head.status, head.body]).toEqual([400, '']);
      expect(head.headers['x-injected']).toBeUndefined();
    }
  });

  test.each(OVERRIDES)('%s with an invalid percent-encoding (%%ZZ, %%C3%%28)', async (param) => {
    for (const value of ['%ZZ', '%C3%28', 'abc%', '%E0%A4']) {
      for (const method of ['GET', 'HEAD']) {
        const a = await request(method, `${server.url}/${bucket}/obj?${param}=${value}`);
        expect(a.status).toBe(400);
        if (method === 'GET') expect([code(a), field(a, 'ArgumentName'), field(a, 'ArgumentValue')]).toEqual(['InvalidArgument', param, value]);
        else expect(a.body).toBe('');
      }
    }
  });

  test('a valid non-ASCII override goes out as its UTF-8 bytes', async () => {
    const disposition = 'attachment; filename="日本 é.txt"';
    const a = await signed('GET', `/${bucket}/obj`, { query: { 'response-content-disposition': disposition, 'response-content-type': 'text/x; charset=utf-8' } });
    expect(a.status).toBe(200);
    expect(Buffer.from(a.headers['content-disposition'] as string, 'latin1').toString('utf8')).toBe(disposition);
    expect(a.headers['content-type']).toBe('text/x; charset=utf-8');
    expect(a.body).toBe('hello');
  });
});

describe('any Content-Type is stored as the object\'s, as S3 does', () => {
  const junk = Array.from({ length: 10 * 1024 }, (_, i) => '!#$%&*+-.^_|~;=/,"'[i % 18]).join('');
  const cases: [string, string][] = [
    ['empty', ''], ['semicolons', ';;;'], ['10 KB of junk', junk], ['multipart without boundary', 'multipart/form-data'],
    ['form-urlencoded', 'application/x-www-form-urlencoded'], ['json', 'application/json'], ['bad parameters', 'text/plain; ; charset'],
  ];

  test.each(cases)('PutObject: %s', async (name, contentType) => {
    const key = `ct-${name.replace(/\W/g, '-')}`;
    const put = await signed('PUT', `/${bucket}/${key}`, { headers: { 'content-type': contentType }, body: '{"x":1}' });
    expect([put.status, code(put)]).toEqual([200, undefined]);
    const get = await signed('GET', `/${bucket}/${key}`);
    expect([get.status, get.body]).toEqual([200, '{"x":1}']);
    expect(get.headers['content-type'] ?? '').toBe(contentType);
  });

  test.each(cases)('CreateMultipartUpload: %s', async (name, contentType) => {
    const key = `mp-${name.replace(/\W/g, '-')}`;
    const create = await signed('POST', `/${bucket}/${key}`, { query: { uploads: '' }, headers: { 'content-type': contentType } });
    expect(create.status).toBe(200);
    const uploadId = field(create, 'UploadId')!;
    const part = await signed('PUT', `/${bucket}/${key}`, { query: { partNumber: '1', uploadId }, body: 'part' });
    expect(part.status).toBe(200);
    const etag = part.headers.etag as string;
    const done = await signed('POST', `/${bucket}/${key}`, {
      query: { uploadId },
      headers: { 'content-type': contentType },
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`,
    });
    expect([done.status, code(done)]).toEqual([200, undefined]);
    const head = await signed('HEAD', `/${bucket}/${key}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-type'] ?? '').toBe(contentType);
  });
});

describe('NUL bytes and bad encodings never reach the database', () => {
  test('a NUL in the bucket name: InvalidBucketName', async () => {
    for (const [method, path] of [['GET', '/\0/x'], ['PUT', '/\0'], ['GET', '/a\0b'], ['HEAD', '/x\0']]) {
      const a = await signed(method, path);
      expect(a.status).toBe(400);
      if (method !== 'HEAD') expect(code(a)).toBe('InvalidBucketName');
    }
  });

  test('a NUL in a key: InvalidArgument, whatever the action', async () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const a = await signed(method, `/${bucket}/a\0b`, method === 'PUT' ? { body: 'x' } : {});
      expect(a.status).toBe(400);
      if (method !== 'HEAD') expect(code(a)).toBe('InvalidArgument');
    }
    const tagging = await signed('GET', `/${bucket}/\0`, { query: { tagging: '' } });
    expect([tagging.status, code(tagging)]).toEqual([400, 'InvalidArgument']);
    const upload = await signed('POST', `/${bucket}/k\0`, { query: { uploads: '' } });
    expect([upload.status, code(upload)]).toEqual([400, 'InvalidArgument']);
  });

  test('a key that is not UTF-8: InvalidURI', async () => {
    for (const path of ['%C3%28', '%FF', 'a%E0%A4', '%ZZ']) {
      const a = await request('GET', `${server.url}/${bucket}/${path}`);
      expect([a.status, code(a)]).toEqual([400, 'InvalidURI']);
      expect(a.body).toContain("<Message>Couldn&apos;t parse the specified URI.</Message>");
    }
  });

  test.each([
    [{ prefix: '\0' }], [{ delimiter: '\0' }], [{ marker: 'a\0' }],
    [{ 'list-type': '2', 'continuation-token': '\0' }], [{ 'list-type': '2', 'start-after': '\0' }], [{ 'list-type': '2', prefix: 'x\0y' }],
    [{ uploads: '', 'key-marker': '\0' }], [{ uploads: '', 'upload-id-marker': '\0', 'key-marker': 'k' }], [{ uploads: '', prefix: '\0' }],
    [{ versions: '', 'key-marker': 'k', 'version-id-marker': '\0' }], [{ versions: '', prefix: '\0' }],
    [{ 'encoding-type': '\0' }], [{ 'max-keys': '\0' }],
  ])('a NUL in a query value: InvalidArgument %j', async (query) => {
    const a = await signed('GET', `/${bucket}`, { query });
    expect([a.status, code(a)]).toEqual([400, 'InvalidArgument']);
    expect(field(a, 'ArgumentName')).toBe(Object.entries(query).find(([, v]) => v.includes('\0'))![0]);
  });

  test('a NUL in an object query value (versionId, uploadId, partNumber)', async () => {
    const queries: Record<string, string>[] = [{ versionId: '\0' }, { uploadId: '\0' }, { partNumber: '1\0' }, { '\0': '' }];
    for (const query of queries) {
      const a = await signed('GET', `/${bucket}/obj`, { query });
      expect([a.status, code(a)]).toEqual([400, 'InvalidArgument']);
    }
  });

  test('an empty or junk versionId is refused before authorization looks it up (was a 500)', async () => {
    for (const [method, query] of [['GET', 'versionId='], ['PUT', 'acl&versionId='], ['GET', 'tagging&versionId=junk'], ['DELETE', 'versionId=%2F']]) {
      const a = await request(method, `${server.url}/${bucket}/obj?${query}`, { 'content-length': '0' });
      expect([a.status, code(a), field(a, 'ArgumentName')]).toEqual([400, 'InvalidArgument', 'versionId']);
    }
  });

  const md5 = (body: string) => createHash('md5').update(body).digest('base64');
  test.each([
    ['cors', '<CORSConfiguration><CORSRule><AllowedOrigin>a\0b</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>'],
    ['cors', '<CORSConfiguration><CORSRule><AllowedOrigin>a&#0;b</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>'],
    ['tagging', '<Tagging><TagSet><Tag><Key>k\0</Key><Value>v</Value></Tag></TagSet></Tagging>'],
    ['tagging', '<Tagging><TagSet><Tag><Key>k</Key><Value>&#x0;</Value></Tag></TagSet></Tagging>'],
    ['versioning', '<VersioningConfiguration><Status>Enabled\0</Status></VersioningConfiguration>'],
    ['delete', '<Delete><Object><Key>a\0b</Key></Object></Delete>'],
    ['\0', '<x/>'],
  ])('a NUL in an XML body (?%s): MalformedXML', async (sub, body) => {
    const method = sub === 'delete' ? 'POST' : 'PUT';
    const a = await signed(method, `/${bucket}`, { query: { [sub]: '' }, headers: { 'content-md5': md5(body) }, body });
    expect(a.status).toBe(400);
    expect(code(a)).toBe(sub === '\0' ? 'InvalidArgument' : 'MalformedXML');
  });

  test('a NUL in an object tagging body or a CreateBucket body', async () => {
    const body = '<Tagging><TagSet><Tag><Key>k</Key><Value>v\0</Value></Tag></TagSet></Tagging>';
    const a = await signed('PUT', `/${bucket}/obj`, { query: { tagging: '' }, body });
    expect([a.status, code(a)]).toEqual([400, 'MalformedXML']);
    const b = await signed('PUT', '/http-hostile-new', { body: '<CreateBucketConfiguration><LocationConstraint>\0</LocationConstraint></CreateBucketConfiguration>' });
    expect([b.status, code(b)]).toEqual([400, 'MalformedXML']);
  });
});

describe('methods S3 does not know: 405 MethodNotAllowed with an XML body', () => {
  test.each(['QUERY', 'PROPFIND', 'PATCH', 'TRACE', 'MKCOL', 'LOCK', 'SEARCH', 'PURGE'])('%s', async (method) => {
    for (const path of ['/', `/${bucket}`, `/${bucket}/obj`]) {
      const a = await request(method, `${server.url}${path}`, method === 'QUERY' || method === 'PATCH' ? { 'content-type': '' } : {});
      expect([a.status, code(a)]).toEqual([405, 'MethodNotAllowed']);
    }
    // And with no Content-Type at all (fastify insisted on one for QUERY).
    const a = await socketExchange(`${method} /${bucket}/obj HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab`);
    expect([parseAnswer(a.text).status, code(parseAnswer(a.text))]).toEqual([405, 'MethodNotAllowed']);
  });

  test('CONNECT is answered, not dropped', async () => {
    const a = await socketExchange('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    const answer = parseAnswer(a.text);
    expect([answer.status, code(answer)]).toEqual([405, 'MethodNotAllowed']);
    expect(answer.headers['content-type']).toBe('application/xml');
  });

  test('a method Node\'s parser does not know', async () => {
    for (const method of ['FOO', 'GETT', 'get']) {
      const a = parseAnswer((await socketExchange(`${method} /${bucket}/obj HTTP/1.1\r\nHost: x\r\n\r\n`)).text);
      expect([a.status, code(a)]).toEqual([405, 'MethodNotAllowed']);
    }
  });
});

describe('Host and Expect: answered in S3 XML, not by Node', () => {
  test('HTTP/1.1 without Host: 400 InvalidArgument', async () => {
    const a = parseAnswer((await socketExchange(`GET /${bucket}/obj HTTP/1.1\r\nConnection: close\r\n\r\n`)).text);
    expect([a.status, code(a), field(a, 'ArgumentName')]).toEqual([400, 'InvalidArgument', 'Host']);
    expect(a.headers['content-type']).toBe('application/xml');
  });

  test('HTTP/1.0 without Host is a valid request', async () => {
    const a = parseAnswer((await socketExchange(`GET /${bucket}/obj HTTP/1.0\r\n\r\n`)).text);
    expect([a.status, code(a)]).toEqual([403, 'AccessDenied']);
  });

  test.each(['junk', '200-ok', '100continue'])('Expect: %s → 400 InvalidRequest', async (expectation) => {
    const a = await request('PUT', `${server.url}/${bucket}/obj`, { expect: expectation, 'content-length': '0' });
    expect([a.status, code(a), field(a, 'ArgumentName')]).toEqual([400, 'InvalidRequest', 'Expect']);
  });

  test('Expect: 100-Continue (any case) is still a continue expectation', async () => {
    const s = await signRequest(server.url, { method: 'GET', path: `/${bucket}/obj` });
    const a = parseAnswer((await socketExchange(`GET /${bucket}/obj HTTP/1.1\r\n${Object.entries(s.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Expect: 100-Continue\r\nConnection: close\r\n\r\n`)).text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''));
    expect([a.status, a.body]).toEqual([200, 'hello']);
  });
});

describe('an early error answer is readable before the connection closes', () => {
  /**
   * Sends the head and `first` bytes of a body declared `declared` bytes long, then keeps
   * sending more in small pieces (as a client streaming an upload does) until the answer is
   * in or `max` bytes went out. The whole answer must be read without a reset.
   */
  function earlyAnswer(head: string, declared: number, first: number, max: number): Promise<{ answer: Answer; complete: boolean; error?: string }> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const parts: Buffer[] = [];
      let error: string | undefined;
      let sent = 0;
      const received = () => Buffer.concat(parts).toString('latin1');
      const complete = () => {
        const a = parseAnswer(received());
        return a.status > 0 && Buffer.byteLength(a.body, 'latin1') === Number(a.headers['content-length']) && a.body.length > 0;
      };
      const pump = () => {
        if (complete() || socket.destroyed || sent >= max) return;
        const n = Math.min(64 * 1024, max - sent);
        sent += n;
        socket.write(Buffer.alloc(n, 0x61), () => setTimeout(pump, 5));
      };
      socket.on('data', (d) => parts.push(d));
      socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
      socket.on('close', () => resolve({ answer: parseAnswer(received()), complete: complete(), error }));
      socket.write(`${head.replace('{length}', String(declared))}\r\n\r\n`);
      sent = first;
      socket.write(Buffer.alloc(first, 0x61), () => setTimeout(pump, 5));
    });
  }

  test('an unauthenticated PUT of a large body: 403 read whole, no reset', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await earlyAnswer(`PUT /${bucket}/big HTTP/1.1\r\nHost: x\r\nContent-Length: {length}`, 50 * 1024 * 1024, 430 * 1024, 900 * 1024);
      expect(r.complete).toBe(true);
      expect([r.answer.status, code(r.answer)]).toEqual([403, 'AccessDenied']);
      expect(r.answer.headers.connection).toBe('close');
      expect(r.error).toBeUndefined();
    }
  });

  test('a 430 KB XML body refused for its size: MalformedXML read whole, no reset', async () => {
    const s = await signRequest(server.url, { method: 'PUT', path: `/${bucket}`, query: { versioning: '' }, headers: { 'content-length': String(430 * 1024) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    const head = `PUT ${new URL(s.url).pathname}${new URL(s.url).search} HTTP/1.1\r\n${Object.entries(s.headers).filter(([k]) => k !== 'content-length').map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\nContent-Length: {length}`;
    for (let i = 0; i < 5; i++) {
      const r = await earlyAnswer(head, 430 * 1024, 300 * 1024, 430 * 1024);
      expect(r.complete).toBe(true);
      expect([r.answer.status, code(r.answer)]).toEqual([400, 'MalformedXML']);
      expect(r.error).toBeUndefined();
    }
  });

  test('the server keeps serving afterwards', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'obj' }));
    expect(await got.Body!.transformToString()).toBe('hello');
  });
});
