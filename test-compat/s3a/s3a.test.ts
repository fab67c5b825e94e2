import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { closeSuite, openSuite, pseudoRandom, type TestServer } from '../harness';
import { S3aWire, errorCode, expectStatus, md5Hex, xml } from './wire';

/**
 * Hadoop's S3A connector, replayed: there is no Hadoop here, so each scenario sends the
 * request sequence S3A sends for one FileSystem call (getFileStatus, mkdirs, create,
 * rename, delete, listStatus, open/read, multipart write), as raw signed HTTP, and asserts
 * every answer is the one S3 gives, since S3A's logic is built on exactly those answers
 * (a 404 means "no such file", a 412 means "file exists", a 416 means EOF...).
 */
let server: TestServer;
let s3: S3Client;
let fs: S3aWire;
const bucket = 's3a-replay';
const MiB = 1024 * 1024;

beforeAll(async () => {
  ({ server, s3 } = await openSuite(bucket));
  fs = new S3aWire(server.url, bucket);
});
afterAll(() => closeSuite({ server, s3 }));

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Runs `fn` over `items` with at most `width` calls in flight. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function putFile(key: string, body: Buffer | string): Promise<string> {
  const a = await fs.put(key, body);
  expectStatus(a, 200, `PUT ${key}`);
  return String(a.headers.etag);
}

describe('initialize', () => {
  test('BucketProbe: HEAD bucket 200 for ours, 404 NoSuchBucket-style for a missing one', async () => {
    expect((await fs.send('HEAD', '')).status).toBe(200);
    const missing = await new S3aWire(server.url, 'no-such-s3a-bucket').send('HEAD', '');
    expect(missing.status).toBe(404);
    // fs.s3a.bucket.probe=2 also asks the region (GetBucketLocation): empty means us-east-1.
    const location = await fs.send('GET', '', { query: { location: '' } });
    expectStatus(location, 200, 'GET ?location');
    expect(xml(location).root).toBe('LocationConstraint');
  });
});

describe('getFileStatus', () => {
  test('Missing: HEAD key 404, HEAD key/ 404, LIST key/ empty: FileNotFoundException', async () => {
    const head = await fs.head('gfs/nothing');
    expect(head.status).toBe(404);
    expect(head.body.length).toBe(0); // HEAD answers carry no body
    expect((await fs.head('gfs/nothing/')).status).toBe(404);
    const list = xml(await fs.list({ prefix: 'gfs/nothing/', delimiter: '/', maxKeys: 2 }));
    expect(list.KeyCount).toBe('0');
    expect(list.Contents).toBeUndefined();
    expect(list.CommonPrefixes).toBeUndefined();
    expect(await fs.getFileStatus('gfs/nothing')).toEqual({ kind: 'missing' });
  });

  test('File: the HEAD probe answers size, ETag and Last-Modified; no LIST needed', async () => {
    const body = pseudoRandom(4321, 11);
    await putFile('gfs/file.bin', body);
    const head = await fs.head('gfs/file.bin');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('4321');
    expect(head.headers.etag).toBe(`"${md5Hex(body)}"`);
    expect(Date.parse(String(head.headers['last-modified']))).toBeGreaterThan(Date.now() - 120_000);
    expect(await fs.getFileStatus('gfs/file.bin')).toEqual({ kind: 'file', size: 4321, etag: `"${md5Hex(body)}"` });
  });

  test('ImplicitDirectory: no marker, the LIST probe finds children (max-keys=2 is honoured)', async () => {
    for (const k of ['gfs/implicit/a', 'gfs/implicit/b', 'gfs/implicit/c', 'gfs/implicit/sub/d']) await putFile(k, 'x');
    expect((await fs.head('gfs/implicit')).status).toBe(404);
    expect((await fs.head('gfs/implicit/')).status).toBe(404);
    const page = xml(await fs.list({ prefix: 'gfs/implicit/', delimiter: '/', maxKeys: 2 }));
    expect(page.KeyCount).toBe('2');
    expect(page.IsTruncated).toBe('true');
    expect(page.Contents.map((c: { Key: string }) => c.Key)).toEqual(['gfs/implicit/a', 'gfs/implicit/b']);
    expect(await fs.getFileStatus('gfs/implicit')).toEqual({ kind: 'dir', empty: false, marker: false });
  });

  test('FileAndDirectorySameName: HEAD finds the file first, as S3A resolves it', async () => {
    await putFile('gfs/both', 'file');
    await putFile('gfs/both/child', 'child');
    expect(await fs.getFileStatus('gfs/both')).toEqual({ kind: 'file', size: 4, etag: `"${md5Hex('file')}"` });
  });
});

describe('mkdirs and directory markers', () => {
  test('Mkdirs: probes up the path, then PUT dir/ (0 bytes, application/x-directory)', async () => {
    // S3A: getFileStatus(path) must be missing, every ancestor must not be a file (HEAD 404).
    expect(await fs.getFileStatus('mk/a/b/c')).toEqual({ kind: 'missing' });
    for (const ancestor of ['mk/a/b', 'mk/a', 'mk']) expect((await fs.head(ancestor)).status).toBe(404);
    const put = await fs.putMarker('mk/a/b/c/');
    expectStatus(put, 200, 'PUT marker');
    expect(put.headers.etag).toBe('"d41d8cd98f00b204e9800998ecf8427e"'); // MD5 of nothing

    const marker = await fs.head('mk/a/b/c/');
    expect(marker.status).toBe(200);
    expect(marker.headers['content-length']).toBe('0');
    expect(marker.headers['content-type']).toBe('application/x-directory');
    expect(await fs.getFileStatus('mk/a/b/c')).toEqual({ kind: 'dir', empty: true, marker: true });
    // The parent, which has no marker of its own, is a directory through its child's prefix.
    const parent = xml(await fs.list({ prefix: 'mk/a/b/', delimiter: '/' }));
    expect(parent.CommonPrefixes).toEqual([{ Prefix: 'mk/a/b/c/' }]);
    expect(parent.Contents).toBeUndefined();
    expect(await fs.getFileStatus('mk/a/b')).toEqual({ kind: 'dir', empty: false, marker: false });
  });

  test('MkdirsUnderFile: an ancestor HEAD answers 200, so S3A refuses (FileAlreadyExistsException)', async () => {
    await putFile('mkf/plain', 'I am a file');
    const head = await fs.head('mkf/plain');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect((await fs.head('mkf/plain/')).status).toBe(404);
  });

  test('MarkerListing: an empty directory lists only its own marker; a file under it lists both', async () => {
    expectStatus(await fs.putMarker('mrk/dir/'), 200, 'PUT marker');
    let page = xml(await fs.list({ prefix: 'mrk/dir/', delimiter: '/', maxKeys: 2 }));
    expect(page.Contents.map((c: { Key: string; Size: string }) => [c.Key, c.Size])).toEqual([['mrk/dir/', '0']]);
    await putFile('mrk/dir/file', 'data');
    page = xml(await fs.list({ prefix: 'mrk/dir/', delimiter: '/', maxKeys: 2 }));
    expect(page.Contents.map((c: { Key: string }) => c.Key)).toEqual(['mrk/dir/', 'mrk/dir/file']);
    expect(await fs.getFileStatus('mrk/dir')).toEqual({ kind: 'dir', empty: false, marker: true });
    // The parent lists the directory once, as a common prefix, marker and all.
    const parent = xml(await fs.list({ prefix: 'mrk/', delimiter: '/' }));
    expect(parent.CommonPrefixes).toEqual([{ Prefix: 'mrk/dir/' }]);
  });

  test('ParentMarkerCleanup: the "delete" marker policy bulk-deletes ancestors, present or not', async () => {
    expectStatus(await fs.putMarker('pmc/x/y/'), 200, 'PUT marker');
    await putFile('pmc/x/y/file', 'payload');
    // Hadoop < 3.4 (fs.s3a.directory.marker.retention=delete): after a file write, delete
    // every ancestor marker in one quiet request; missing keys are not errors.
    const del = await fs.deleteObjects(['pmc/x/y/', 'pmc/x/', 'pmc/']);
    expectStatus(del, 200, 'DeleteObjects');
    const result = xml(del);
    expect(result.root).toBe('DeleteResult');
    expect(result.Error).toBeUndefined();
    expect(result.Deleted).toBeUndefined(); // quiet mode reports errors only
    expect((await fs.listAll({ prefix: 'pmc/' })).keys).toEqual(['pmc/x/y/file']);
    expect(await fs.getFileStatus('pmc/x/y')).toEqual({ kind: 'dir', empty: false, marker: false });
  });
});

describe('create', () => {
  test('CreateNoOverwrite: PUT If-None-Match: * succeeds once, then 412 PreconditionFailed', async () => {
    const first = await fs.put('create/once.txt', 'first', { 'if-none-match': '*' });
    expectStatus(first, 200, 'first create');
    const second = await fs.put('create/once.txt', 'second', { 'if-none-match': '*' });
    expect(second.status).toBe(412);
    expect(errorCode(second)).toBe('PreconditionFailed');
    const body = await fs.get('create/once.txt');
    expect(body.body.toString()).toBe('first');
  });

  test('CreateOverwrite: a plain PUT replaces the file; the ETag follows the content', async () => {
    const a = await putFile('create/over.txt', 'one');
    const b = await putFile('create/over.txt', 'two');
    expect(a).toBe(`"${md5Hex('one')}"`);
    expect(b).toBe(`"${md5Hex('two')}"`);
    expect((await fs.get('create/over.txt')).body.toString()).toBe('two');
  });

  test('CreateOverDirectory: S3A probes with LIST and finds a directory, so create is refused', async () => {
    await putFile('create/dir/child', 'c');
    expect((await fs.head('create/dir')).status).toBe(404);
    expect(await fs.getFileStatus('create/dir')).toEqual({ kind: 'dir', empty: false, marker: false });
  });
});

describe('rename', () => {
  test('RenameFile: CopyObject (metadata REPLACEd with the source\'s), then bulk delete of the source', async () => {
    const body = pseudoRandom(70_000, 21);
    expectStatus(await fs.put('ren1/src/data.bin', body, { 'content-type': 'text/plain', 'x-amz-meta-origin': 'hadoop' }), 200, 'PUT src');
    // Probes: the source is a file, the destination missing, its parent a directory.
    expect((await fs.getFileStatus('ren1/src/data.bin')).kind).toBe('file');
    expect(await fs.getFileStatus('ren1/dst/data.bin')).toEqual({ kind: 'missing' });
    const src = await fs.head('ren1/src/data.bin');

    const copy = await fs.copy('ren1/src/data.bin', 'ren1/dst/data.bin', {
      'content-type': String(src.headers['content-type']),
      'x-amz-meta-origin': String(src.headers['x-amz-meta-origin']),
      'x-amz-copy-source-if-match': String(src.headers.etag), // S3A pins the version it probed
    });
    expectStatus(copy, 200, 'CopyObject');
    const result = xml(copy);
    expect(result.root).toBe('CopyObjectResult');
    expect(result.ETag).toBe(`"${md5Hex(body)}"`);
    expect(Date.parse(result.LastModified)).toBeGreaterThan(Date.now() - 120_000);

    const del = await fs.deleteObjects(['ren1/src/data.bin']);
    expectStatus(del, 200, 'DeleteObjects');
    expect(xml(del).Error).toBeUndefined();
    // The source parent is now empty: S3A recreates its marker so the directory survives.
    expect(await fs.getFileStatus('ren1/src')).toEqual({ kind: 'missing' });
    expectStatus(await fs.putMarker('ren1/src/'), 200, 'PUT parent marker');

    const dst = await fs.get('ren1/dst/data.bin');
    expect(dst.status).toBe(200);
    expect(dst.body.equals(body)).toBe(true);
    expect(dst.headers['content-type']).toBe('text/plain');
    expect(dst.headers['x-amz-meta-origin']).toBe('hadoop');
    expect((await fs.head('ren1/src/data.bin')).status).toBe(404);
    expect(await fs.getFileStatus('ren1/src')).toEqual({ kind: 'dir', empty: true, marker: true });
  });

  test('RenameCopySourceChanged: a copy pinned to a stale ETag is 412 PreconditionFailed', async () => {
    await putFile('ren2/f', 'v1');
    const stale = `"${md5Hex('v1')}"`;
    await putFile('ren2/f', 'v2');
    const copy = await fs.copy('ren2/f', 'ren2/g', { 'x-amz-copy-source-if-match': stale });
    expect(copy.status).toBe(412);
    expect(errorCode(copy)).toBe('PreconditionFailed');
    expect((await fs.head('ren2/g')).status).toBe(404);
  });

  test('RenameDirectory: LIST the tree, copy every object and marker, delete the sources in one page', async () => {
    const files: Record<string, Buffer> = {
      'a.txt': Buffer.from('alpha'),
      'sub/b.bin': pseudoRandom(100_000, 5),
      'sub/deeper/c with space.txt': Buffer.from('gamma'),
      'empty': Buffer.alloc(0),
    };
    for (const [rel, body] of Object.entries(files)) await putFile(`ren3/src/${rel}`, body);
    for (const marker of ['ren3/src/', 'ren3/src/sub/', 'ren3/src/emptydir/']) expectStatus(await fs.putMarker(marker), 200, `PUT ${marker}`);
    expect((await fs.getFileStatus('ren3/src')).kind).toBe('dir');
    expect(await fs.getFileStatus('ren3/dst')).toEqual({ kind: 'missing' });

    const { keys } = await fs.listAll({ prefix: 'ren3/src/', maxKeys: 5000 });
    expect(keys).toHaveLength(7);
    await pool(keys, 4, async (key) => {
      const head = await fs.head(key);
      const copy = await fs.copy(key, key.replace('ren3/src/', 'ren3/dst/'), { 'content-type': String(head.headers['content-type']) });
      expectStatus(copy, 200, `copy ${key}`);
    });
    const del = await fs.deleteObjects(keys);
    expectStatus(del, 200, 'DeleteObjects');
    expect(xml(del).Error).toBeUndefined();

    expect(await fs.getFileStatus('ren3/src')).toEqual({ kind: 'missing' });
    const moved = await fs.listAll({ prefix: 'ren3/dst/' });
    expect(moved.keys).toEqual(keys.map((k) => k.replace('ren3/src/', 'ren3/dst/')));
    for (const [rel, body] of Object.entries(files)) expect((await fs.get(`ren3/dst/${rel}`)).body.equals(body)).toBe(true);
    const marker = await fs.head('ren3/dst/emptydir/');
    expect(marker.headers['content-type']).toBe('application/x-directory');
    expect(await fs.getFileStatus('ren3/dst/emptydir')).toEqual({ kind: 'dir', empty: true, marker: true });
  });
});

describe('a directory of 1100 files (a Spark output)', () => {
  const names = Array.from({ length: 1100 }, (_, i) => `out/part-${String(i).padStart(5, '0')}`);

  beforeAll(async () => {
    await pool(names, 8, async (k) => void (await putFile(k, k)));
    await putFile('out/_SUCCESS', '');
    await putFile('out/sub/nested', 'n');
  }, 300_000);

  test('ListStatusPaged: max-keys=5000 is capped at 1000 per page; tokens cover all, once, in order', async () => {
    const first = xml(await fs.list({ prefix: 'out/', delimiter: '/', maxKeys: 5000 }));
    expect(Number(first.KeyCount)).toBeLessThanOrEqual(1000);
    expect(first.IsTruncated).toBe('true');
    expect(first.NextContinuationToken).toBeTruthy();
    const all = await fs.listAll({ prefix: 'out/', delimiter: '/', maxKeys: 5000 });
    for (const page of all.pages) expect((page.Contents ?? []).length + (page.CommonPrefixes ?? []).length).toBeLessThanOrEqual(1000);
    expect(all.pages.length).toBeGreaterThanOrEqual(2);
    const expected = [...names, 'out/_SUCCESS'].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(all.keys).toEqual(expected);
    expect(all.prefixes).toEqual(['out/sub/']);
  });

  test('ListStatusPagedV1: fs.s3a.list.version=1 pages by NextMarker, also capped at 1000', async () => {
    const seen: string[] = [];
    let marker = '';
    for (;;) {
      const page = xml(await fs.list({ prefix: 'out/', delimiter: '/', maxKeys: 5000, v1Marker: marker }));
      expect((page.Contents ?? []).length + (page.CommonPrefixes ?? []).length).toBeLessThanOrEqual(1000);
      seen.push(...(page.Contents ?? []).map((c: { Key: string }) => c.Key));
      if (page.IsTruncated !== 'true') break;
      expect(page.NextMarker).toBeTruthy(); // given because a delimiter was sent
      marker = page.NextMarker;
    }
    expect(seen).toHaveLength(1101);
    expect(new Set(seen).size).toBe(1101);
  });

  test('DeleteRecursive: LIST without delimiter, then DeleteObjects in pages of 250', async () => {
    const { keys } = await fs.listAll({ prefix: 'out/', maxKeys: 5000 });
    expect(keys).toHaveLength(1102);
    for (let i = 0; i < keys.length; i += 250) {
      const page = keys.slice(i, i + 250);
      const del = await fs.deleteObjects(page);
      expectStatus(del, 200, `DeleteObjects page ${i / 250}`);
      expect(xml(del).Error).toBeUndefined();
    }
    expect((await fs.listAll({ prefix: 'out/' })).keys).toEqual([]);
    expect(await fs.getFileStatus('out')).toEqual({ kind: 'missing' });
  }, 120_000);

  test('DeleteObjectsVerbose: a non-quiet page reports every key as Deleted, absent ones too', async () => {
    await putFile('verbose/one', '1');
    const del = await fs.deleteObjects(['verbose/one', 'verbose/never-existed'], false);
    expectStatus(del, 200, 'DeleteObjects');
    const deleted = (xml(del).Deleted ?? []).map((d: { Key: string }) => d.Key).sort();
    expect(deleted).toEqual(['verbose/never-existed', 'verbose/one']);
  });

  test('DeleteObjectsOddKeys: keys with XML-escaped characters are deleted and echoed as they are', async () => {
    const odd = ['odd/a&b', 'odd/quote"d', "odd/it's", 'odd/<tag>', 'odd/spa ce+plus%'];
    for (const k of odd) await putFile(k, k);
    const del = await fs.deleteObjects(odd, false);
    expectStatus(del, 200, 'DeleteObjects');
    expect(xml(del).Error).toBeUndefined();
    expect((xml(del).Deleted ?? []).map((d: { Key: string }) => d.Key).sort()).toEqual([...odd].sort());
    expect((await fs.listAll({ prefix: 'odd/' })).keys).toEqual([]);
  });
});

describe('open and read', () => {
  const size = 300_001;
  const data = pseudoRandom(size, 99);
  const range = (from: number, to: number) => fs.get('read/file.bin', { range: `bytes=${from}-${to}` });

  beforeAll(() => putFile('read/file.bin', data));

  test('SequentialRead: one GET of the whole file as a range, 206 with Content-Range', async () => {
    const a = await range(0, size - 1);
    expect(a.status).toBe(206);
    expect(a.headers['content-range']).toBe(`bytes 0-${size - 1}/${size}`);
    expect(a.headers['content-length']).toBe(String(size));
    expect(sha256(a.body)).toBe(sha256(data));
  });

  test('RandomRead: seek then read with 64 KiB readahead, pinned with If-Match (change detection)', async () => {
    const etag = `"${md5Hex(data)}"`;
    const a = await fs.get('read/file.bin', { range: 'bytes=100000-165535', 'if-match': etag });
    expect(a.status).toBe(206);
    expect(a.headers['content-range']).toBe(`bytes 100000-165535/${size}`);
    expect(a.body.equals(data.subarray(100_000, 165_536))).toBe(true);
  });

  test('VectoredRead: nearby ranges merged into one GET, sliced by the client', async () => {
    const a = await range(0, 12_287);
    expect(a.status).toBe(206);
    expect(a.body.subarray(0, 4096).equals(data.subarray(0, 4096))).toBe(true);
    expect(a.body.subarray(8192, 12_288).equals(data.subarray(8192, 12_288))).toBe(true);
  });

  test('ReadNearEOF: a range running past the end is cut to the object, 206', async () => {
    const a = await range(size - 11, size - 11 + 65_535);
    expect(a.status).toBe(206);
    expect(a.headers['content-range']).toBe(`bytes ${size - 11}-${size - 1}/${size}`);
    expect(a.body.equals(data.subarray(size - 11))).toBe(true);
  });

  test('ReadBeyondEOF: a range starting at or past the end is 416 InvalidRange (S3A: EOF)', async () => {
    for (const from of [size, size + 1000]) {
      const a = await range(from, from + 65_535);
      expect(a.status).toBe(416);
      expect(errorCode(a)).toBe('InvalidRange');
    }
    await putFile('read/empty', '');
    const empty = await fs.get('read/empty', { range: 'bytes=0-65535' });
    expect(empty.status).toBe(416);
    expect(errorCode(empty)).toBe('InvalidRange');
  });

  test('FileChangedDuringRead: the next GET pinned to the old ETag is 412 (RemoteFileChangedException)', async () => {
    const body = Buffer.from('version one');
    await putFile('read/changing', body);
    const etag = `"${md5Hex(body)}"`;
    expect((await fs.get('read/changing', { range: 'bytes=0-3', 'if-match': etag })).status).toBe(206);
    await putFile('read/changing', 'version two');
    const a = await fs.get('read/changing', { range: 'bytes=4-10', 'if-match': etag });
    expect(a.status).toBe(412);
    expect(errorCode(a)).toBe('PreconditionFailed');
  });
});

describe('multipart write (fs.s3a.multipart.size = 64M)', () => {
  const PART = 64 * MiB;
  const sizes = [PART, PART, 2 * MiB + 12_345]; // ~130 MiB: three parts, the last one short

  async function initiate(key: string): Promise<string> {
    const a = await fs.send('POST', key, { query: { uploads: '' }, headers: { 'content-type': 'application/octet-stream' } });
    expectStatus(a, 200, 'CreateMultipartUpload');
    const r = xml(a);
    expect(r.root).toBe('InitiateMultipartUploadResult');
    expect(r.Key).toBe(key);
    return r.UploadId as string;
  }

  test('BlockOutputStream: initiate, 3 parts of 64 MiB, complete; ETag and bytes exact', async () => {
    const key = 'mpu/big.bin';
    const uploadId = await initiate(key);
    const whole = createHash('sha256');
    const parts: { n: number; etag: string; md5: Buffer }[] = [];
    for (const [i, size] of sizes.entries()) {
      const body = pseudoRandom(size, 1000 + i); // one part in memory at a time, as S3A's disk blocks
      whole.update(body);
      const a = await fs.send('PUT', key, { query: { partNumber: String(i + 1), uploadId }, body });
      expectStatus(a, 200, `UploadPart ${i + 1}`);
      const md5 = createHash('md5').update(body).digest();
      expect(a.headers.etag).toBe(`"${md5.toString('hex')}"`);
      parts.push({ n: i + 1, etag: String(a.headers.etag), md5 });
    }
    const listed = xml(await fs.send('GET', key, { query: { uploadId } }));
    expect(listed.Part.map((p: { PartNumber: string; Size: string }) => [Number(p.PartNumber), Number(p.Size)])).toEqual(sizes.map((s, i) => [i + 1, s]));

    const complete = await fs.send('POST', key, {
      query: { uploadId },
      body: `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
    });
    expectStatus(complete, 200, 'CompleteMultipartUpload');
    const done = xml(complete);
    expect(done.root).toBe('CompleteMultipartUploadResult'); // a 200 can still carry an Error
    const expectedEtag = `"${md5Hex(Buffer.concat(parts.map((p) => p.md5)))}-3"`;
    expect(done.ETag).toBe(expectedEtag);

    const head = await fs.head(key);
    expect(head.headers['content-length']).toBe(String(sizes.reduce((a, b) => a + b)));
    expect(head.headers.etag).toBe(expectedEtag);
    const got = await fs.getDigest(key);
    expect(got).toEqual({ status: 200, size: sizes.reduce((a, b) => a + b), sha256: whole.digest('hex') });
    const uploads = xml(await fs.send('GET', '', { query: { uploads: '', prefix: 'mpu/' } }));
    expect(uploads.Upload).toBeUndefined();
  }, 600_000);

  test('PurgePendingUploads: list uploads under a path, abort each; the upload is gone', async () => {
    const key = 'mpu/abandoned.bin';
    const uploadId = await initiate(key);
    expectStatus(await fs.send('PUT', key, { query: { partNumber: '1', uploadId }, body: pseudoRandom(5 * MiB, 3) }), 200, 'UploadPart');
    const pending = xml(await fs.send('GET', '', { query: { uploads: '', prefix: 'mpu/' } }));
    expect(pending.Upload.map((u: { Key: string; UploadId: string }) => [u.Key, u.UploadId])).toEqual([[key, uploadId]]);

    expect((await fs.send('DELETE', key, { query: { uploadId } })).status).toBe(204);
    expect(xml(await fs.send('GET', '', { query: { uploads: '', prefix: 'mpu/' } })).Upload).toBeUndefined();
    const late = await fs.send('PUT', key, { query: { partNumber: '2', uploadId }, body: 'late' });
    expect(late.status).toBe(404);
    expect(errorCode(late)).toBe('NoSuchUpload');
    expect((await fs.head(key)).status).toBe(404);
  }, 120_000);
});
