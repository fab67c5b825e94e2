import { createHash, createHmac } from 'node:crypto';
import { s3Failure } from '../protocol/errors.testing';
import { StaticIdentity, authenticate, type Credential, type PayloadAuth } from '../auth';
import { ChunkSigner } from '../auth/chunk-signer';
import { decodeAwsChunked, MAX_LINE_BYTES, type AwsChunkedOptions } from './aws-chunked';
import { BodyDigests } from './checksums';

type Streaming = Extract<PayloadAuth, { mode: 'streaming' }>;

const EXAMPLE: Credential = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', owner: 'o', displayName: 'example' };
const AT = Date.UTC(2013, 4, 24);
const DATA = Buffer.alloc(66560, 'a');
const EMPTY_SHA256 = createHash('sha256').digest('hex');

async function* pieces(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function decode(body: Buffer | AsyncIterable<Buffer>, payload: Streaming, opts: AwsChunkedOptions = {}, size = 8192) {
  const out: Buffer[] = [];
  let trailers: Record<string, string> | undefined;
  const source = Buffer.isBuffer(body) ? pieces(body, size) : body;
  for await (const piece of decodeAwsChunked(source, payload, { ...opts, onTrailers: (t) => (trailers = t) })) out.push(piece);
  return { data: Buffer.concat(out), trailers };
}


/** The AWS documentation's chunked upload examples, authenticated from their headers. */
async function awsExample(trailer: boolean): Promise<{ payload: Streaming; body: Buffer }> {
  const signed = trailer
    ? 'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer'
    : 'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class';
  const seed = trailer
    ? '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e'
    : '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
  const sigs = trailer
    ? [
        'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
        '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
        '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
      ]
    : [
        'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
        '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
        'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
      ];
  const headers: Record<string, string> = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
    authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signed},Signature=${seed}`,
  };
  if (trailer) headers['x-amz-trailer'] = 'x-amz-checksum-crc32c';
  const auth = await authenticate(
    { method: 'PUT', rawPath: '/examplebucket/chunkObject.txt', rawQuery: '', headers },
    new StaticIdentity([EXAMPLE]),
    AT,
  );
  expect(auth.payload).toMatchObject({ mode: 'streaming', trailer });
  const body = Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    DATA.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    DATA.subarray(65536),
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n`),
    Buffer.from(
      trailer
        ? 'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n'
        : '\r\n',
    ),
  ]);
  if (!trailer) expect(body.length).toBe(66824);
  return { payload: auth.payload as Streaming, body };
}

/** Flips the character right after the n-th occurrence of `text`. */
function corrupt(body: Buffer, text: string, n = 0): Buffer {
  const copy = Buffer.from(body);
  let at = -1;
  for (let i = 0; i <= n; i++) at = copy.indexOf(text, at + 1);
  if (at < 0) throw new Error(`no ${text}`);
  const i = at + text.length;
  copy[i] = copy[i] === 0x30 ? 0x31 : 0x30;
  return copy;
}

describe('the AWS chunked upload example', () => {
  it.each([1, 2, 3, 7, 80, 81, 82, 83, 84, 85, 86, 4096, 65536, 65537, 65619, 100000, 66824])(
    'decodes in pieces of %i bytes',
    async (size) => {
      const { payload, body } = await awsExample(false);
      const { data, trailers } = await decode(body, payload, { decodedLength: 66560 }, size);
      expect(data.equals(DATA)).toBe(true);
      expect(trailers).toEqual({});
    },
  );

  it.each([0, 1, 2])('refuses a wrong signature on chunk %i', async (n) => {
    const { payload, body } = await awsExample(false);
    const e = await s3Failure(decode(corrupt(body, 'chunk-signature=', n), payload));
    expect(e.code).toBe('SignatureDoesNotMatch');
    expect(e.fields.StringToSign).toMatch(/^AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n20130524\/us-east-1\/s3\/aws4_request\n/);
  });

  it.each([0, 65535, 65536 + 1023])('refuses a changed data byte at %i', async (offset) => {
    const { payload, body } = await awsExample(false);
    const changed = Buffer.from(body);
    const start = body.indexOf('\r\n') + 2;
    const at = offset < 65536 ? start + offset : body.indexOf('\r\n', body.indexOf('400;') ) + 2 + (offset - 65536);
    changed[at] = 0x62;
    expect((await s3Failure(decode(changed, payload))).code).toBe('SignatureDoesNotMatch');
  });

  it('refuses another seed', async () => {
    const { payload, body } = await awsExample(false);
    const other = { ...payload, signer: new ChunkSigner(Buffer.alloc(32), '20130524T000000Z', '20130524/us-east-1/s3/aws4_request', '0'.repeat(64)) };
    expect((await s3Failure(decode(body, other))).code).toBe('SignatureDoesNotMatch');
  });

  it.each([66559, 66561, 0])('refuses a decoded length of %i', async (decodedLength) => {
    const { payload, body } = await awsExample(false);
    const e = await s3Failure(decode(body, payload, { decodedLength }));
    expect([e.code, e.fields.NumberBytesExpected]).toEqual(['IncompleteBody', String(decodedLength)]);
  });

  it.each([10, 100, 65000, 66700, 66790, 66821])('refuses the body cut after %i bytes', async (length) => {
    const { payload, body } = await awsExample(false);
    const e = await s3Failure(decode(body.subarray(0, length), payload, { decodedLength: 66560 }));
    expect(e.code).toBe('IncompleteBody');
  });

  it('accepts a body that ends without the blank line after the final chunk', async () => {
    const { payload, body } = await awsExample(false);
    expect((await decode(body.subarray(0, body.length - 2), payload)).data.length).toBe(66560);
  });

  it('refuses data after the end', async () => {
    const { payload, body } = await awsExample(false);
    expect((await s3Failure(decode(Buffer.concat([body, Buffer.from('x')]), payload))).code).toBe('IncompleteBody');
  });

  it('refuses a chunk without its signature', async () => {
    const { payload, body } = await awsExample(false);
    const stripped = Buffer.from(body.toString('latin1').replace(/;chunk-signature=[0-9a-f]+/, ''), 'latin1');
    expect((await s3Failure(decode(stripped, payload))).code).toBe('IncompleteBody');
  });
});

describe('the AWS chunked upload example with a trailer', () => {
  it.each([1, 5, 64, 66700, 1 << 20])('decodes in pieces of %i bytes and reports the trailer', async (size) => {
    const { payload, body } = await awsExample(true);
    expect(payload.trailerNames).toEqual(['x-amz-checksum-crc32c']);
    const { data, trailers } = await decode(body, payload, { decodedLength: 66560 }, size);
    expect(data.equals(DATA)).toBe(true);
    expect(trailers).toEqual({ 'x-amz-checksum-crc32c': 'sOO8/Q==' });
    const digests = new BodyDigests(['CRC32C']);
    digests.update(data);
    expect(await digests.checksum('CRC32C')).toBe('sOO8/Q==');
  });

  it('refuses a wrong trailer signature or a changed trailer', async () => {
    const { payload, body } = await awsExample(true);
    for (const bad of [corrupt(body, 'x-amz-trailer-signature:'), Buffer.from(body.toString('latin1').replace('sOO8/Q==', 'sOO8/Q0='), 'latin1')]) {
      const e = await s3Failure(decode(bad, payload));
      expect(e.code).toBe('SignatureDoesNotMatch');
      expect(e.fields.StringToSign).toMatch(/^AWS4-HMAC-SHA256-TRAILER\n/);
    }
  });

  it('refuses a missing trailer signature', async () => {
    const { payload, body } = await awsExample(true);
    const stripped = Buffer.from(body.toString('latin1').replace(/x-amz-trailer-signature:.*\r\n/, ''), 'latin1');
    expect((await s3Failure(decode(stripped, payload))).code).toBe('IncompleteBody');
  });

  it('refuses a trailer that was not declared, and a declared one that is missing', async () => {
    const { payload, body } = await awsExample(true);
    const undeclared = await s3Failure(decode(body, { ...payload, trailerNames: ['x-amz-checksum-sha256'] }));
    expect([undeclared.code, undeclared.message]).toEqual(['InvalidRequest', expect.stringMatching(/x-amz-checksum-crc32c was not declared/)]);
    const missing = await s3Failure(decode(body, { ...payload, trailerNames: ['x-amz-checksum-crc32c', 'x-amz-checksum-sha256'] }));
    expect(missing.message).toMatch(/x-amz-checksum-sha256 declared in x-amz-trailer but not sent/);
  });
});

/** An aws-chunked body built here, with signatures computed independently of ChunkSigner. */
function encode(
  data: Buffer,
  chunkSize: number,
  opts: { signing?: { key: Buffer; date: string; scope: string; seed: string }; trailers?: Record<string, string>; lineEnd?: string } = {},
): Buffer {
  const { signing } = opts;
  const hmac = (s: string) => createHmac('sha256', signing!.key).update(s).digest('hex');
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  let previous = signing?.seed ?? '';
  const parts: Buffer[] = [];
  const chunk = (piece: Buffer) => {
    let ext = '';
    if (signing) {
      previous = hmac(['AWS4-HMAC-SHA256-PAYLOAD', signing.date, signing.scope, previous, EMPTY_SHA256, sha(piece)].join('\n'));
      ext = `;chunk-signature=${previous}`;
    }
    parts.push(Buffer.from(`${piece.length.toString(16)}${ext}\r\n`), piece);
  };
  for (let i = 0; i < data.length; i += chunkSize) {
    chunk(data.subarray(i, i + chunkSize));
    parts.push(Buffer.from('\r\n'));
  }
  chunk(Buffer.alloc(0));
  if (opts.trailers) {
    const lines = Object.entries(opts.trailers).map(([k, v]) => `${k}:${v}\n`);
    for (const line of lines) parts.push(Buffer.from(line.replace('\n', '\r\n')));
    if (signing) {
      const sig = hmac(['AWS4-HMAC-SHA256-TRAILER', signing.date, signing.scope, previous, sha(lines.sort().join('') || '\n')].join('\n'));
      parts.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  parts.push(Buffer.from(opts.lineEnd ?? '\r\n'));
  return Buffer.concat(parts);
}

function derivedKey(secret: string, date: string): Buffer {
  let key: Buffer | string = `AWS4${secret}`;
  for (const part of [date, 'eu-west-3', 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return key as Buffer;
}

describe('bodies built here', () => {
  const key = derivedKey('secret', '20260101');
  const signing = { key, date: '20260101T000000Z', scope: '20260101/eu-west-3/s3/aws4_request', seed: 'f'.repeat(64) };
  const signer = new ChunkSigner(key, signing.date, signing.scope, signing.seed);
  const random = createHash('sha512').update('seed').digest();
  const data = Buffer.concat(Array.from({ length: 600 }, (_, i) => createHash('sha512').update(random).update(String(i)).digest())); // 38400 bytes

  it.each([1, 13, 8192, 38400, 50000])('unsigned with a trailer, chunks of %i bytes', async (chunkSize) => {
    const body = encode(data, chunkSize, { trailers: { 'x-amz-checksum-sha256': 'abc=' } });
    const payload: Streaming = { mode: 'streaming', trailer: true, trailerNames: ['x-amz-checksum-sha256'] };
    for (const size of [1, 3, 1000, body.length]) {
      const { data: out, trailers } = await decode(body, payload, { decodedLength: data.length }, size);
      expect(out.equals(data)).toBe(true);
      expect(trailers).toEqual({ 'x-amz-checksum-sha256': 'abc=' });
    }
  });

  it('signed with two trailers', async () => {
    const trailers = { 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-meta-z': 'zz' };
    const body = encode(data, 8192, { signing, trailers });
    const payload: Streaming = { mode: 'streaming', trailer: true, signer, trailerNames: ['x-amz-meta-z', 'x-amz-checksum-crc32'] };
    for (const size of [1, 7, 8192, 9000]) {
      expect(await decode(body, payload, {}, size)).toEqual({ data, trailers });
    }
  });

  it('signed, an empty body', async () => {
    const body = encode(Buffer.alloc(0), 8192, { signing });
    expect(body.toString()).toMatch(/^0;chunk-signature=[0-9a-f]{64}\r\n\r\n$/);
    expect(await decode(body, { mode: 'streaming', trailer: false, signer }, { decodedLength: 0 })).toEqual({ data: Buffer.alloc(0), trailers: {} });
  });

  it('ignores chunk extensions and a trailer signature when unsigned', async () => {
    const body = Buffer.from('3;chunk-signature=00;x=y\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:00\r\n\r\n');
    const payload: Streaming = { mode: 'streaming', trailer: true, trailerNames: ['x-amz-checksum-crc32'] };
    expect(await decode(body, payload)).toEqual({ data: Buffer.from('abc'), trailers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
  });

  it('accepts upper-case hex sizes and spaces around trailer values', async () => {
    const body = Buffer.from(`1A\r\n${'z'.repeat(26)}\r\n0\r\nX-Amz-Checksum-CRC32 :  AAAAAA== \r\n`);
    const payload: Streaming = { mode: 'streaming', trailer: true, trailerNames: ['x-amz-checksum-crc32'] };
    expect(await decode(body, payload, {}, 1)).toEqual({ data: Buffer.alloc(26, 'z'), trailers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
  });

  it.each<[string, string, string]>([
    ['a size that is not hex', 'zz\r\nabc\r\n0\r\n\r\n', 'IncompleteBody'],
    ['a negative size', '-3\r\nabc\r\n0\r\n\r\n', 'IncompleteBody'],
    ['an empty size', '\r\nabc\r\n0\r\n\r\n', 'IncompleteBody'],
    ['a size beyond 2^53', 'fffffffffffffff\r\nabc\r\n0\r\n\r\n', 'IncompleteBody'],
    ['a bare LF', '3\nabc\r\n0\r\n\r\n', 'IncompleteBody'],
    ['data longer than its size', '3\r\nabcd\r\n0\r\n\r\n', 'IncompleteBody'],
    ['data shorter than its size', '3\r\nab\r\n0\r\n\r\n', 'IncompleteBody'],
    ['no final chunk', '3\r\nabc\r\n', 'IncompleteBody'],
    ['trailers without a trailer mode', '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', 'IncompleteBody'],
  ])('refuses %s', async (_what, text, code) => {
    const payload: Streaming = { mode: 'streaming', trailer: false };
    for (const size of [1, 2, 1000]) expect((await s3Failure(decode(Buffer.from(text), payload, {}, size))).code).toBe(code);
  });

  it('refuses a trailer line without a name', async () => {
    const payload: Streaming = { mode: 'streaming', trailer: true, trailerNames: ['x-amz-checksum-crc32'] };
    expect((await s3Failure(decode(Buffer.from('0\r\n:AAAAAA==\r\n\r\n'), payload))).code).toBe('InvalidRequest');
  });

  it('refuses a header line over 4 KiB, without reading on', async () => {
    let read = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        read += 1000;
        yield Buffer.alloc(1000, '0');
      }
    }
    const e = await s3Failure(decode(endless(), { mode: 'streaming', trailer: false }));
    expect(e.code).toBe('IncompleteBody');
    expect(read).toBeLessThanOrEqual(MAX_LINE_BYTES + 1000);
    // A line of exactly 4096 bytes (a long chunk extension) is fine, one more byte is not.
    const line = (n: number) => `3;${'x'.repeat(n - 2)}\r\nabc\r\n0\r\n\r\n`;
    for (const size of [7, 4097, 5000]) {
      expect((await decode(Buffer.from(line(MAX_LINE_BYTES)), { mode: 'streaming', trailer: false }, {}, size)).data.toString()).toBe('abc');
      expect((await s3Failure(decode(Buffer.from(line(MAX_LINE_BYTES + 1)), { mode: 'streaming', trailer: false }, {}, size))).code).toBe('IncompleteBody');
    }
  });

  it('yields data before the source ends, as views of the source pieces', async () => {
    const head = Buffer.from(`10000\r\n${'q'.repeat(40000)}`);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* source(): AsyncGenerator<Buffer> {
      yield head;
      await gate;
      yield Buffer.from(`${'q'.repeat(65536 - 40000)}\r\n0\r\n\r\n`);
    }
    const it = decodeAwsChunked(source(), { mode: 'streaming', trailer: false }, { decodedLength: 65536 });
    const first = await it.next();
    expect(first.done).toBe(false);
    expect((first.value as Buffer).length).toBe(40000);
    expect((first.value as Buffer).buffer).toBe(head.buffer);
    release();
    let rest = 0;
    for await (const piece of it) rest += piece.length;
    expect(rest).toBe(65536 - 40000);
  });
});
