import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { type TestServer, openSuite, closeSuite, pseudoRandom } from '../harness';
import { type PolicyCondition, signPostPolicy, signRequest } from './signing';
import { errorFields, type Answer } from './raw';
import { createUser } from '../iam/users';

/**
 * POST Object (browser form uploads) over raw HTTP, the form built byte by byte so the wire
 * is exactly what a browser sends, and the policy signed by signing.ts from the SigV4 POST
 * spec, not by the server's code. What was stored is checked through the AWS SDK.
 */
let server: TestServer;
let s3: S3Client;
const bucket = 'http-post';

beforeAll(async () => ({ server, s3 } = await openSuite(bucket)));
afterAll(() => closeSuite({ server, s3 }));

interface FormOptions {
  /** Extra conditions besides bucket and the four auth fields. */
  conditions?: PolicyCondition[];
  expiration?: Date;
  keys?: { accessKeyId: string; secretKey: string };
  signatureOf?: (signature: string) => string;
}

/** The signed fields of a SigV4 POST form, the signature optionally spoilt by signatureOf. */
function signedFields(opts: FormOptions = {}): [string, string][] {
  const fields = signPostPolicy({ bucket, conditions: opts.conditions, expiration: opts.expiration, keys: opts.keys });
  const spoil = opts.signatureOf;
  return spoil ? fields.map(([name, value]) => [name, name === 'x-amz-signature' ? spoil(value) : value]) : fields;
}

interface Part {
  name: string;
  value: string | Buffer;
  filename?: string;
  type?: string;
}

/** A multipart/form-data body as browsers write it. */
function formBody(parts: Part[], boundary = `----rfsFormBoundary${randomBytes(8).toString('hex')}`): { body: Buffer; type: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`;
    chunks.push(Buffer.from(head), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/** Fields, then the auth fields, then the file: a complete form. */
function form(fields: [string, string][], file: Buffer, opts: FormOptions & { filename?: string; after?: Part[] } = {}): { body: Buffer; type: string } {
  const parts: Part[] = [...fields, ...signedFields(opts)].map(([name, value]) => ({ name, value }));
  parts.push({ name: 'file', value: file, filename: opts.filename ?? 'local name.bin', type: 'application/octet-stream' });
  return formBody([...parts, ...(opts.after ?? [])]);
}

/** POST a body (a Buffer, or pieces written one by one so a large body streams) to a path. */
function post(path: string, type: string, body: Buffer | Buffer[], headers: Record<string, string> = {}): Promise<Answer> {
  const pieces = Array.isArray(body) ? body : [body];
  const length = pieces.reduce((n, b) => n + b.length, 0);
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': type, 'content-length': String(length), ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    (async () => {
      for (const p of pieces) if (!req.write(p)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch(reject);
  });
}

const error = (a: Answer) => errorFields(a, ['Code', 'Message', 'ProposedSize', 'MaxSizeAllowed', 'MinSizeAllowed', 'ArgumentName']);

async function getBytes(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function keysUnder(prefix: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!);
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('successful form uploads', () => {
  test('PostObject_default: 204 with ETag and Location; ${filename}, Content-Type and x-amz-meta-* applied; bytes round-trip', async () => {
    const file = pseudoRandom(300_000, 7); // above the inline limit: stored as chunks
    const f = form(
      [['key', 'uploads/${filename}'], ['Content-Type', 'image/x-rfs'], ['x-amz-meta-color', 'blue']],
      file,
      { filename: 'photo 1.bin', conditions: [['starts-with', '$key', 'uploads/'], ['starts-with', '$Content-Type', 'image/'], { 'x-amz-meta-color': 'blue' }] },
    );
    const a = await post(`/${bucket}`, f.type, f.body);
    expect({ status: a.status, body: a.body }).toEqual({ status: 204, body: '' });
    expect(a.headers.etag).toBe(`"${md5(file)}"`);
    expect(a.headers.location).toBe(`${server.url}/${bucket}/uploads%2Fphoto%201.bin`);
    expect((await getBytes('uploads/photo 1.bin')).equals(file)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'uploads/photo 1.bin' }));
    expect({ type: head.ContentType, meta: head.Metadata, etag: head.ETag }).toEqual({ type: 'image/x-rfs', meta: { color: 'blue' }, etag: `"${md5(file)}"` });
  });

  test('PostObject_201: PostResponse XML naming bucket, key, ETag and Location; 200: empty', async () => {
    const file = Buffer.from('created\n');
    const f = form([['key', 'status/created.txt'], ['success_action_status', '201']], file, { conditions: [{ key: 'status/created.txt' }, { success_action_status: '201' }] });
    const a = await post(`/${bucket}`, f.type, f.body);
    expect(a.status).toBe(201);
    expect(a.headers['content-type']).toContain('application/xml');
    const location = `${server.url}/${bucket}/status%2Fcreated.txt`;
    expect(a.body).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>${location}</Location><Bucket>${bucket}</Bucket><Key>status/created.txt</Key><ETag>"${md5(file)}"</ETag></PostResponse>`,
    );
    const ok = form([['key', 'status/ok.txt'], ['success_action_status', '200']], file, { conditions: [{ key: 'status/ok.txt' }, { success_action_status: '200' }] });
    const b = await post(`/${bucket}`, ok.type, ok.body);
    expect({ status: b.status, body: b.body, etag: b.headers.etag }).toEqual({ status: 200, body: '', etag: `"${md5(file)}"` });
    expect((await getBytes('status/ok.txt')).equals(file)).toBe(true);
  });

  test('PostObject_redirect: 303 to success_action_redirect with bucket, key and etag appended', async () => {
    const file = Buffer.from('redirected');
    const target = 'https://app.example.com/done?from=form';
    const f = form([['key', 'redirect/r.txt'], ['success_action_redirect', target]], file, {
      conditions: [{ key: 'redirect/r.txt' }, ['starts-with', '$success_action_redirect', 'https://app.example.com/']],
    });
    const a = await post(`/${bucket}`, f.type, f.body);
    expect(a.status).toBe(303);
    const to = new URL(a.headers.location!);
    expect(`${to.origin}${to.pathname}`).toBe('https://app.example.com/done');
    expect([...to.searchParams]).toEqual([['from', 'form'], ['bucket', bucket], ['key', 'redirect/r.txt'], ['etag', `"${md5(file)}"`]]);
    expect((await getBytes('redirect/r.txt')).equals(file)).toBe(true);
  });

  test('PostObject_large: 24 MiB streamed in 64 KiB pieces round-trips byte-exact; fields after the file are ignored', async () => {
    const file = pseudoRandom(24 * 1024 * 1024, 99);
    const f = form([['key', 'large/big.bin']], file, {
      conditions: [{ key: 'large/big.bin' }, ['content-length-range', 1, 32 * 1024 * 1024]],
      after: [{ name: 'x-amz-meta-late', value: 'ignored' }],
    });
    const pieces: Buffer[] = [];
    for (let i = 0; i < f.body.length; i += 65536) pieces.push(f.body.subarray(i, i + 65536));
    const a = await post(`/${bucket}`, f.type, pieces);
    expect(a.status).toBe(204);
    expect(a.headers.etag).toBe(`"${md5(file)}"`);
    const got = await getBytes('large/big.bin');
    expect(got.length).toBe(file.length);
    expect(md5(got)).toBe(md5(file));
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'large/big.bin' }))).Metadata).toEqual({});
  }, 120_000);

  test('PostObject_textFileAndTags: a file part without filename; the tagging field sets the tags', async () => {
    const tagging = '<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag><Tag><Key>tier</Key><Value>1</Value></Tag></TagSet></Tagging>';
    const parts: Part[] = [
      { name: 'key', value: 'text/plain.txt' },
      { name: 'tagging', value: tagging },
      ...signedFields({ conditions: [{ key: 'text/plain.txt' }, { tagging }] }).map(([name, value]) => ({ name, value })),
      { name: 'file', value: 'just text' },
    ];
    const f = formBody(parts);
    const a = await post(`/${bucket}`, f.type, f.body);
    expect(a.status).toBe(204);
    expect((await getBytes('text/plain.txt')).toString()).toBe('just text');
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'text/plain.txt' }));
    expect(tags.TagSet).toEqual([{ Key: 'team', Value: 'web' }, { Key: 'tier', Value: '1' }]);
  });
});

describe('checksum fields and broken connections', () => {
  test('PostObject_objectLock: the lock fields set the version\'s retention; a signer without s3:PutObjectRetention is refused 403', async () => {
    const lockBucket = 'http-post-lock';
    await s3.send(new CreateBucketCommand({ Bucket: lockBucket, ObjectLockEnabledForBucket: true }));
    const until = new Date(Math.ceil(Date.now() / 1000) * 1000 + 86_400_000).toISOString();
    const lock: [string, string][] = [['x-amz-object-lock-mode', 'GOVERNANCE'], ['x-amz-object-lock-retain-until-date', until]];
    const lockForm = (key: string, keys?: FormOptions['keys']) => {
      const conditions = [{ key }, ...lock.map(([name, value]) => ({ [name]: value }))];
      const parts: Part[] = [['key', key], ...lock, ...signPostPolicy({ bucket: lockBucket, conditions, keys })].map(([name, value]) => ({ name, value }));
      return formBody([...parts, { name: 'file', value: Buffer.from('locked body'), filename: 'f', type: 'text/plain' }]);
    };
    const byRoot = lockForm('by-root');
    expect((await post(`/${lockBucket}`, byRoot.type, byRoot.body)).status).toBe(204);
    expect((await s3.send(new GetObjectRetentionCommand({ Bucket: lockBucket, Key: 'by-root' }))).Retention).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: new Date(until) });

    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${lockBucket}/*` }] };
    const writer = await createUser(server, 'post-without-retention', { 'post-put-only': policy });
    const byWriter = lockForm('by-writer', writer);
    expect(error(await post(`/${lockBucket}`, byWriter.type, byWriter.body))).toMatchObject({ status: '403', Code: 'AccessDenied' });
    const plain = formBody([['key', 'plain'], ...signPostPolicy({ bucket: lockBucket, conditions: [{ key: 'plain' }], keys: writer })]
      .map(([name, value]): Part => ({ name, value })).concat({ name: 'file', value: Buffer.from('x'), filename: 'f', type: 'text/plain' }));
    expect((await post(`/${lockBucket}`, plain.type, plain.body)).status).toBe(204); // the same signer, no lock asked: stored
    expect(await s3.send(new HeadObjectCommand({ Bucket: lockBucket, Key: 'by-writer' })).then(() => 'stored', () => 'absent')).toBe('absent');
  });

  test('PostObject_checksumField: x-amz-checksum-sha256 verified: right → stored and echoed, wrong → BadDigest', async () => {
    const file = pseudoRandom(200_000, 5);
    const sum = createHash('sha256').update(file).digest('base64');
    const conditions = (key: string, value: string): PolicyCondition[] => [{ key }, { 'x-amz-checksum-sha256': value }];
    const good = form([['key', 'sums/good.bin'], ['x-amz-checksum-sha256', sum]], file, { conditions: conditions('sums/good.bin', sum) });
    const a = await post(`/${bucket}`, good.type, good.body);
    expect({ status: a.status, sum: a.headers['x-amz-checksum-sha256'] }).toEqual({ status: 204, sum });
    const wrong = createHash('sha256').update('other').digest('base64');
    const bad = form([['key', 'sums/bad.bin'], ['x-amz-checksum-sha256', wrong]], file, { conditions: conditions('sums/bad.bin', wrong) });
    expect(error(await post(`/${bucket}`, bad.type, bad.body))).toMatchObject({ status: '400', Code: 'BadDigest' });
    expect(await keysUnder('sums/')).toEqual(['sums/good.bin']);
  });

  test('PostObject_clientGone: a form cut off mid-file stores nothing and leaves the server serving', async () => {
    const file = pseudoRandom(4 * 1024 * 1024, 3);
    const f = form([['key', 'gone/cut.bin']], file, { conditions: [{ key: 'gone/cut.bin' }] });
    await new Promise<void>((resolve) => {
      const req = http.request(`${server.url}/${bucket}`, { method: 'POST', headers: { 'content-type': f.type, 'content-length': String(f.body.length) } });
      req.on('error', () => resolve());
      req.on('response', (res) => res.resume().on('end', resolve));
      req.write(f.body.subarray(0, 1024 * 1024), () => setTimeout(() => req.destroy(), 200));
    });
    const again = form([['key', 'gone/after.txt']], Buffer.from('still here'), { conditions: [{ key: 'gone/after.txt' }] });
    expect((await post(`/${bucket}`, again.type, again.body)).status).toBe(204);
    expect(await keysUnder('gone/')).toEqual(['gone/after.txt']);
  });
});

describe('refused by the policy: S3 codes, nothing stored', () => {
  const file = Buffer.from('0123456789');

  test('Policy_extraField: a field no condition covers → AccessDenied "Extra input fields"', async () => {
    const f = form([['key', 'deny/extra.txt'], ['x-amz-meta-sneaky', '1']], file, { conditions: [{ key: 'deny/extra.txt' }] });
    expect(error(await post(`/${bucket}`, f.type, f.body))).toEqual({
      status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky',
    });
  });

  test('Policy_conditionFailed: key outside the starts-with prefix → AccessDenied naming the condition', async () => {
    const f = form([['key', 'elsewhere/x.txt']], file, { conditions: [['starts-with', '$key', 'deny/']] });
    expect(error(await post(`/${bucket}`, f.type, f.body))).toEqual({
      status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "deny/"]',
    });
  });

  test('Policy_expired: AccessDenied "Policy expired."', async () => {
    const f = form([['key', 'deny/expired.txt']], file, { conditions: [{ key: 'deny/expired.txt' }], expiration: new Date(Date.now() - 1000) });
    expect(error(await post(`/${bucket}`, f.type, f.body))).toEqual({ status: '403', Code: 'AccessDenied', Message: 'Invalid according to Policy: Policy expired.' });
  });

  test('Policy_contentLengthRange: over → EntityTooLarge, under → EntityTooSmall, with the sizes', async () => {
    const over = form([['key', 'deny/big.txt']], file, { conditions: [{ key: 'deny/big.txt' }, ['content-length-range', 0, 9]] });
    expect(error(await post(`/${bucket}`, over.type, over.body))).toMatchObject({ status: '400', Code: 'EntityTooLarge', ProposedSize: '10', MaxSizeAllowed: '9' });
    const under = form([['key', 'deny/small.txt']], file, { conditions: [{ key: 'deny/small.txt' }, ['content-length-range', 11, 100]] });
    expect(error(await post(`/${bucket}`, under.type, under.body))).toMatchObject({ status: '400', Code: 'EntityTooSmall', ProposedSize: '10', MinSizeAllowed: '11' });
  });

  test('Auth_failures: bad signature, unknown key, unsigned form, a missing auth field', async () => {
    const bad = form([['key', 'deny/sig.txt']], file, { conditions: [{ key: 'deny/sig.txt' }], signatureOf: (s) => s.replace(/^./, (c) => (c === '0' ? '1' : '0')) });
    expect(error(await post(`/${bucket}`, bad.type, bad.body))).toMatchObject({ status: '403', Code: 'SignatureDoesNotMatch' });
    const stranger = form([['key', 'deny/who.txt']], file, { conditions: [{ key: 'deny/who.txt' }], keys: { accessKeyId: 'AKIANOBODY0000000000', secretKey: 'x' } });
    expect(error(await post(`/${bucket}`, stranger.type, stranger.body))).toMatchObject({ status: '403', Code: 'InvalidAccessKeyId' });
    const unsigned = formBody([{ name: 'key', value: 'deny/anon.txt' }, { name: 'file', value: file, filename: 'a' }]);
    expect(error(await post(`/${bucket}`, unsigned.type, unsigned.body))).toMatchObject({ status: '403', Code: 'AccessDenied' });
    const parts = signedFields({ conditions: [{ key: 'deny/nosig.txt' }] }).filter(([n]) => n !== 'x-amz-signature');
    const noSig = formBody([{ name: 'key', value: 'deny/nosig.txt' }, ...parts.map(([name, value]) => ({ name, value })), { name: 'file', value: file, filename: 'a' }]);
    expect(error(await post(`/${bucket}`, noSig.type, noSig.body))).toEqual({
      status: '400', Code: 'InvalidArgument', ArgumentName: 'x-amz-signature',
      Message: "Bucket POST must contain a field named 'x-amz-signature'.  If it is specified, please check the order of the fields.",
    });
  });

  afterAll(async () => expect(await keysUnder('deny/')).toEqual([]));
});

describe('malformed forms', () => {
  test('Form_notMultipart: PreconditionFailed 412, unsigned (routed like any request) or signed', async () => {
    const body = 'key=bad%2Furlencoded&file=x';
    const anonymous = await post(`/${bucket}`, 'application/x-www-form-urlencoded', Buffer.from(body));
    expect(error(anonymous)).toMatchObject({ status: '412', Code: 'PreconditionFailed' });
    const s = await signRequest(server.url, { method: 'POST', path: `/${bucket}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const signed = await post(`/${bucket}`, 'application/x-www-form-urlencoded', Buffer.from(body), s.headers);
    expect(error(signed)).toMatchObject({ status: '412', Code: 'PreconditionFailed' });
    expect(signed.body).toContain('<Condition>Bucket POST must be of the enclosure-type multipart/form-data</Condition>');
  });

  test('Form_missingFileOrKey: InvalidArgument naming the field', async () => {
    const noFile = formBody([{ name: 'key', value: 'bad/nofile' }, ...signedFields({ conditions: [{ key: 'bad/nofile' }] }).map(([name, value]) => ({ name, value }))]);
    expect(error(await post(`/${bucket}`, noFile.type, noFile.body))).toEqual({
      status: '400', Code: 'InvalidArgument', ArgumentName: 'file', Message: 'POST requires exactly one file upload per request.',
    });
    const noKey = form([], Buffer.from('x'), { conditions: [] });
    expect(error(await post(`/${bucket}`, noKey.type, noKey.body))).toMatchObject({ status: '400', Code: 'InvalidArgument', ArgumentName: 'key' });
  });

  test('Form_preDataTooLarge: fields over 20 KiB before the file → MaxPostPreDataLengthExceeded', async () => {
    const big = 'v'.repeat(21 * 1024);
    const f = form([['key', 'bad/pre'], ['x-ignore-padding', big]], Buffer.from('x'), { conditions: [{ key: 'bad/pre' }] });
    expect(error(await post(`/${bucket}`, f.type, f.body))).toMatchObject({ status: '400', Code: 'MaxPostPreDataLengthExceeded' });
  });

  test('Form_truncated: no closing delimiter → MalformedPOSTRequest', async () => {
    const f = form([['key', 'bad/trunc']], Buffer.from('some bytes'), { conditions: [{ key: 'bad/trunc' }] });
    const cut = f.body.subarray(0, f.body.length - 20);
    expect(error(await post(`/${bucket}`, f.type, cut))).toMatchObject({ status: '400', Code: 'MalformedPOSTRequest' });
  });

  test('Form_noBucket: NoSuchBucket 404', async () => {
    const f = form([['key', 'x']], Buffer.from('x'), { conditions: [{ key: 'x' }] });
    expect(error(await post('/no-such-bucket-post', f.type, f.body))).toMatchObject({ status: '404', Code: 'NoSuchBucket' });
  });

  afterAll(async () => expect(await keysUnder('bad/')).toEqual([]));
});
