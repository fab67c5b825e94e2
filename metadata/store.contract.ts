import { randomUUID } from 'node:crypto';
import type { MetadataStore, NewObject } from './store';

/** The MetadataStore contract, run on every backend (the embedded PostgreSQL, a PostgreSQL server). */
export function describeMetadataStore(name: string, open: () => Promise<MetadataStore>): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore;
    const owner = 'owner-1';
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    function object(bucket: string, key: string, extra: Partial<NewObject> = {}): NewObject {
      return {
        bucket, key, id: randomUUID(), size: 3, etag: '"e"', owner, tags: {},
        headers: { 'content-type': 'text/plain' }, userMetadata: {}, checksums: {},
        inline: Buffer.from('abc'), chunks: [], ...extra,
      };
    }
    async function keys(bucket: string): Promise<string[]> {
      return (await store.listObjects({ bucket, prefix: '', delimiter: '', after: '', maxKeys: 1000 })).objects.map((o) => o.key);
    }

    test('CreateBucket_twice: BucketAlreadyOwnedByYou, another owner: BucketAlreadyExists', async () => {
      await store.createBucket({ name: 'b1', owner, region: 'us-east-1' });
      await expect(store.createBucket({ name: 'b1', owner, region: 'us-east-1' })).rejects.toMatchObject({ code: 'BucketAlreadyOwnedByYou' });
      await expect(store.createBucket({ name: 'b1', owner: 'other', region: 'us-east-1' })).rejects.toMatchObject({ code: 'BucketAlreadyExists' });
      expect((await store.listBuckets(owner)).map((b) => b.name)).toContain('b1');
      expect(await store.listBuckets('other')).toEqual([]);
    });

    test('PutObject_GetObject: round-trips every field, inline bytes included', async () => {
      const o = object('b1', 'dir/a b+c%d', { userMetadata: { k: 'v' }, checksums: { CRC32: 'AAAAAA==' } });
      await store.putObject(o);
      const got = await store.getObject('b1', 'dir/a b+c%d');
      expect(got).toMatchObject({ key: o.key, id: o.id, versionId: 'null', size: 3, etag: '"e"', userMetadata: { k: 'v' }, checksums: { CRC32: 'AAAAAA==' } });
      expect(Buffer.from(got.inline!).toString()).toBe('abc');
      expect(Math.abs(got.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
    });

    test('GetObject_missing: NoSuchKey vs NoSuchBucket', async () => {
      await expect(store.getObject('b1', 'nope')).rejects.toMatchObject({ code: 'NoSuchKey' });
      await expect(store.getObject('nobucket', 'x')).rejects.toMatchObject({ code: 'NoSuchBucket' });
      await expect(store.putObject(object('nobucket', 'x'))).rejects.toMatchObject({ code: 'NoSuchBucket' });
    });

    test('PutObject_overwrite: drops the old version chunk references', async () => {
      const first = object('b1', 'big', { inline: undefined, size: 10, chunks: [{ pos: 0, address: 'a'.repeat(64), size: 4 }, { pos: 4, address: 'b'.repeat(64), size: 6 }] });
      await store.putObject(first);
      expect((await store.referencedChunks(['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)])).sort()).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
      await store.putObject(object('b1', 'big', { inline: undefined, size: 5, chunks: [{ pos: 0, address: 'c'.repeat(64), size: 5 }] }));
      expect(await store.referencedChunks(['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)])).toEqual(['c'.repeat(64)]);
      await store.deleteObject('b1', 'big');
      expect(await store.referencedChunks(['c'.repeat(64)])).toEqual([]);
    });

    test('GetChunks_range: only the chunks a range covers', async () => {
      const chunks = Array.from({ length: 10 }, (_, i) => ({ pos: i * 100, address: String(i).repeat(64), size: 100 }));
      const o = object('b1', 'ranged', { inline: undefined, size: 1000, chunks });
      await store.putObject(o);
      expect((await store.getChunks(o.id, 250, 420)).map((c) => c.pos)).toEqual([200, 300, 400]);
      expect((await store.getChunks(o.id, 0, 0)).map((c) => c.pos)).toEqual([0]);
      expect((await store.getChunks(o.id, 999, 999)).map((c) => c.pos)).toEqual([900]);
      expect((await store.getChunks(o.id, 0, 999))).toHaveLength(10);
    });

    test('PutObject_IfNoneMatch: of concurrent create-only writers exactly one wins', async () => {
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => store.putObject(object('b1', 'once'), { ifNoneMatch: '*' })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'PreconditionFailed' });
    });

    test('PutObject_IfMatch: etag must match; missing key is NoSuchKey', async () => {
      await expect(store.putObject(object('b1', 'once'), { ifMatch: ['"other"'] })).rejects.toMatchObject({ code: 'PreconditionFailed' });
      await store.putObject(object('b1', 'once'), { ifMatch: ['"e"'] });
      await expect(store.putObject(object('b1', 'never'), { ifMatch: ['"e"'] })).rejects.toMatchObject({ code: 'NoSuchKey' });
    });

    test('ListObjects_byteOrder: keys come back in UTF-8 byte order', async () => {
      await store.createBucket({ name: 'order', owner, region: 'us-east-1' });
      const names = ['a', 'B', 'é', 'z', 'Z', '~', 'a/b', 'a b', '日本', '\u{1F600}', 'ab', 'a+'];
      for (const k of names) await store.putObject(object('order', k));
      const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(await keys('order')).toEqual(expected);
    });

    test('ListObjects_delimiter: common prefixes, pagination across them, start-after', async () => {
      await store.createBucket({ name: 'tree', owner, region: 'us-east-1' });
      const all = ['a.txt', 'dir1/x', 'dir1/y', 'dir2/sub/z', 'e.txt', 'photos/2024/1.jpg', 'photos/2025/2.jpg', 'z'];
      for (const k of all) await store.putObject(object('tree', k));
      for (let i = 0; i < 50; i++) await store.putObject(object('tree', `dir1/many/${i}`));
      const page = await store.listObjects({ bucket: 'tree', prefix: '', delimiter: '/', after: '', maxKeys: 1000 });
      expect(page.objects.map((o) => o.key)).toEqual(['a.txt', 'e.txt', 'z']);
      expect(page.commonPrefixes).toEqual(['dir1/', 'dir2/', 'photos/']);
      expect(page.isTruncated).toBe(false);
      const sub = await store.listObjects({ bucket: 'tree', prefix: 'photos/', delimiter: '/', after: '', maxKeys: 1000 });
      expect(sub.commonPrefixes).toEqual(['photos/2024/', 'photos/2025/']);
      // Page through one entry at a time: every entry exactly once, in order.
      const seen: string[] = [];
      let after = '';
      for (let i = 0; i < 20; i++) {
        const p = await store.listObjects({ bucket: 'tree', prefix: '', delimiter: '/', after, maxKeys: 2 });
        seen.push(...p.objects.map((o) => o.key), ...p.commonPrefixes);
        if (!p.isTruncated) break;
        after = p.last!;
      }
      expect(seen.sort()).toEqual(['a.txt', 'dir1/', 'dir2/', 'e.txt', 'photos/', 'z']);
      const rest = await store.listObjects({ bucket: 'tree', prefix: 'dir1/', delimiter: '', after: 'dir1/many/8', maxKeys: 1000 });
      expect(rest.objects.map((o) => o.key)).toEqual(['dir1/many/9', 'dir1/x', 'dir1/y']);
    });

    test('ListObjects_maxKeys: truncation exactly at the boundary', async () => {
      const p = await store.listObjects({ bucket: 'tree', prefix: 'dir1/many/', delimiter: '', after: '', maxKeys: 50 });
      expect(p.objects).toHaveLength(50);
      expect(p.isTruncated).toBe(false);
      const q = await store.listObjects({ bucket: 'tree', prefix: 'dir1/many/', delimiter: '', after: '', maxKeys: 49 });
      expect(q.isTruncated).toBe(true);
    });

    test('DeleteBucket: BucketNotEmpty, then gone', async () => {
      await store.createBucket({ name: 'gone', owner, region: 'us-east-1' });
      await store.putObject(object('gone', 'k'));
      await expect(store.deleteBucket('gone')).rejects.toMatchObject({ code: 'BucketNotEmpty' });
      await store.deleteObject('gone', 'k');
      await store.deleteObject('gone', 'k'); // idempotent
      await store.deleteBucket('gone');
      expect(await store.getBucket('gone')).toBeUndefined();
      await expect(store.deleteBucket('gone')).rejects.toMatchObject({ code: 'NoSuchBucket' });
    });

    test('AccessKeys: put, get, replace', async () => {
      await store.putAccessKey({ accessKeyId: 'AK1', secretKey: 's1', owner, displayName: 'root' });
      await store.putAccessKey({ accessKeyId: 'AK1', secretKey: 's2', owner, displayName: 'root' });
      expect(await store.getAccessKey('AK1')).toEqual({ accessKeyId: 'AK1', secretKey: 's2', owner, displayName: 'root' });
      expect(await store.getAccessKey('nope')).toBeUndefined();
    });

    test('UpdateBucket: versioning, CORS and tags round-trip; null removes; NoSuchBucket', async () => {
      await store.createBucket({ name: 'settings', owner, region: 'us-east-1' });
      const cors = [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: ['ETag'], maxAgeSeconds: 60 }];
      await store.updateBucket('settings', { versioning: 'Enabled', cors, tags: { team: 'a' } });
      expect(await store.getBucket('settings')).toMatchObject({ versioning: 'Enabled', cors, tags: { team: 'a' } });
      await store.updateBucket('settings', { cors: null, tags: null });
      const b = await store.getBucket('settings');
      expect(b?.cors).toBeUndefined();
      expect(b?.tags).toBeUndefined();
      expect(b?.versioning).toBe('Enabled');
      await expect(store.updateBucket('nobucket', { tags: null })).rejects.toMatchObject({ code: 'NoSuchBucket' });
    });

    test('Versioning_enabled: versions kept newest first, delete marker, removal by id promotes the next', async () => {
      await store.createBucket({ name: 'ver', owner, region: 'us-east-1' });
      await store.updateBucket('ver', { versioning: 'Enabled' });
      const v1 = object('ver', 'k', { inline: undefined, size: 4, chunks: [{ pos: 0, address: 'd'.repeat(64), size: 4 }] });
      const v2 = object('ver', 'k', { etag: '"2"' });
      expect((await store.putObject(v1)).versionId).toBe(v1.id);
      expect((await store.putObject(v2)).versionId).toBe(v2.id);
      expect(await store.getObject('ver', 'k')).toMatchObject({ versionId: v2.id, isLatest: true, etag: '"2"' });
      expect(await store.getObject('ver', 'k', v1.id)).toMatchObject({ id: v1.id, isLatest: false, size: 4 });
      const marker = await store.deleteObject('ver', 'k');
      expect(marker).toMatchObject({ deleteMarker: true });
      expect(await store.getObject('ver', 'k')).toMatchObject({ deleteMarker: true, versionId: marker.versionId });
      expect(await keys('ver')).toEqual([]);
      const versions = await store.listVersions({ bucket: 'ver', prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 100 });
      expect(versions.versions.map((v) => [v.versionId, v.isLatest, v.deleteMarker])).toEqual([
        [marker.versionId, true, true], [v2.id, false, false], [v1.id, false, false],
      ]);
      // Removing the marker by id brings v2 back; removing v1 drops its chunks.
      expect(await store.deleteObject('ver', 'k', marker.versionId)).toEqual({ versionId: marker.versionId, deleteMarker: true });
      expect(await store.getObject('ver', 'k')).toMatchObject({ versionId: v2.id, isLatest: true });
      expect(await store.referencedChunks(['d'.repeat(64)])).toEqual(['d'.repeat(64)]);
      await store.deleteObject('ver', 'k', v1.id);
      expect(await store.referencedChunks(['d'.repeat(64)])).toEqual([]);
      await expect(store.getObject('ver', 'k', v1.id)).rejects.toMatchObject({ code: 'NoSuchVersion' });
      await expect(store.getObject('ver', 'k', 'null')).rejects.toMatchObject({ code: 'NoSuchVersion' });
      await store.deleteObject('ver', 'k');
      await expect(store.deleteBucket('ver')).rejects.toMatchObject({ code: 'BucketNotEmpty' }); // v2 and a marker remain
    });

    test('Versioning_suspended: the null version is replaced, other versions stay', async () => {
      await store.createBucket({ name: 'susp', owner, region: 'us-east-1' });
      const before = object('susp', 'k', { etag: '"0"' }); // written unversioned: the null version
      await store.putObject(before);
      await store.updateBucket('susp', { versioning: 'Enabled' });
      const kept = object('susp', 'k', { etag: '"1"' });
      await store.putObject(kept);
      await store.updateBucket('susp', { versioning: 'Suspended' });
      expect((await store.putObject(object('susp', 'k', { etag: '"2"' }))).versionId).toBe('null');
      const list = async () =>
        (await store.listVersions({ bucket: 'susp', prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 100 })).versions.map((v) => [v.versionId, v.etag]);
      expect(await list()).toEqual([['null', '"2"'], [kept.id, '"1"']]);
      expect(await store.deleteObject('susp', 'k')).toEqual({ versionId: 'null', deleteMarker: true });
      expect(await list()).toEqual([['null', ''], [kept.id, '"1"']]);
      expect(await store.getObject('susp', 'k', 'null')).toMatchObject({ deleteMarker: true });
    });

    test('ListVersions_markers: pages resume inside a key and at common prefixes', async () => {
      await store.createBucket({ name: 'vpages', owner, region: 'us-east-1' });
      await store.updateBucket('vpages', { versioning: 'Enabled' });
      for (const k of ['a', 'a', 'a', 'b', 'b', 'd/1', 'd/2']) await store.putObject(object('vpages', k));
      const all: string[] = [];
      let keyMarker = '';
      let versionIdMarker = '';
      for (;;) {
        const page = await store.listVersions({ bucket: 'vpages', prefix: '', delimiter: '/', keyMarker, versionIdMarker, maxKeys: 2 });
        all.push(...page.versions.map((v) => `${v.key}${v.isLatest ? '*' : ''}`), ...page.commonPrefixes);
        if (!page.isTruncated) break;
        keyMarker = page.nextKeyMarker!;
        versionIdMarker = page.nextVersionIdMarker ?? '';
      }
      expect(all).toEqual(['a*', 'a', 'a', 'b*', 'b', 'd/']);
    });

    test('PutObjectTags: current or by version; delete markers refused', async () => {
      await store.createBucket({ name: 'tags', owner, region: 'us-east-1' });
      await store.updateBucket('tags', { versioning: 'Enabled' });
      const first = object('tags', 'k');
      await store.putObject(first);
      await store.putObject(object('tags', 'k'));
      expect(await store.putObjectTags('tags', 'k', first.id, { a: '1' })).toBe(first.id);
      expect((await store.getObject('tags', 'k', first.id)).tags).toEqual({ a: '1' });
      expect((await store.getObject('tags', 'k')).tags).toEqual({});
      const marker = await store.deleteObject('tags', 'k');
      await expect(store.putObjectTags('tags', 'k', undefined, {})).rejects.toMatchObject({ code: 'NoSuchKey' });
      await expect(store.putObjectTags('tags', 'k', marker.versionId, {})).rejects.toMatchObject({ code: 'MethodNotAllowed' });
    });

    test('CopyObject_sharesChunks: the copy references the source chunks; a vanished source is NoSuchKey', async () => {
      await store.createBucket({ name: 'copy', owner, region: 'us-east-1' });
      const src = object('copy', 'src', { inline: undefined, size: 8, chunks: [{ pos: 0, address: 'e'.repeat(64), size: 8 }] });
      await store.putObject(src);
      const copy = object('copy', 'dst', { inline: undefined, size: 8, chunks: { copyOf: src.id } });
      await store.putObject(copy);
      await store.deleteObject('copy', 'src');
      expect(await store.referencedChunks(['e'.repeat(64)])).toEqual(['e'.repeat(64)]);
      expect(await store.getChunks(copy.id, 0, 7)).toEqual([{ pos: 0, address: 'e'.repeat(64), size: 8 }]);
      await expect(store.putObject(object('copy', 'again', { inline: undefined, size: 8, chunks: { copyOf: src.id } }))).rejects.toMatchObject({ code: 'NoSuchKey' });
    });

    test('Multipart: parts replace, complete concatenates chunk refs in order, parts not chosen are dropped', async () => {
      await store.createBucket({ name: 'mpu', owner, region: 'us-east-1' });
      const uploadId = randomUUID();
      await store.createUpload({ bucket: 'mpu', key: 'big', uploadId, owner, headers: { 'content-type': 'x/y' }, userMetadata: { m: '1' }, tags: {} });
      const part = (n: number, letter: string, etag = `"p${n}"`) => ({
        uploadId, partNumber: n, id: randomUUID(), size: 10, etag, checksums: {},
        chunks: [{ pos: 0, address: letter.repeat(64), size: 4 }, { pos: 4, address: letter.repeat(63) + '0', size: 6 }],
      });
      await store.putPart(part(1, 'm'));
      await store.putPart(part(2, 'n'));
      await store.putPart(part(2, 'o', '"p2b"')); // replaces part 2
      await store.putPart(part(3, 'q'));
      expect(await store.referencedChunks(['n'.repeat(64)])).toEqual([]);
      expect((await store.listParts(uploadId, 0, 10)).map((p) => [p.partNumber, p.etag])).toEqual([[1, '"p1"'], [2, '"p2b"'], [3, '"p3"']]);
      expect((await store.listParts(uploadId, 1, 1)).map((p) => p.partNumber)).toEqual([2]);
      await expect(store.completeUpload({ bucket: 'mpu', key: 'big', uploadId }, [{ partNumber: 2, etag: '"p2"' }], object('mpu', 'big'))).rejects.toMatchObject({ code: 'InvalidPart' });
      const o = object('mpu', 'big', { etag: '"x-2"', headers: { 'content-type': 'x/y' } });
      await store.completeUpload({ bucket: 'mpu', key: 'big', uploadId }, [{ partNumber: 1, etag: '"p1"' }, { partNumber: 3, etag: '"p3"' }], o);
      const got = await store.getObject('mpu', 'big');
      expect(got).toMatchObject({ size: 20, partCount: 2, etag: '"x-2"' });
      expect((await store.getChunks(got.id, 0, 19)).map((c) => [c.pos, c.address[0]])).toEqual([[0, 'm'], [4, 'm'], [10, 'q'], [14, 'q']]);
      expect((await store.getObjectParts(got.id, 0, 10)).map((p) => [p.partNumber, p.pos, p.size])).toEqual([[1, 0, 10], [3, 10, 10]]);
      expect(await store.referencedChunks(['o'.repeat(64)])).toEqual([]); // part 2 was not chosen
      await expect(store.getUpload('mpu', 'big', uploadId)).rejects.toMatchObject({ code: 'NoSuchUpload' });
      await expect(store.putPart(part(4, '4'))).rejects.toMatchObject({ code: 'NoSuchUpload' });
    });

    test('Multipart_listAndAbort: uploads by key then id, markers, delimiter; abort and bucket delete drop parts', async () => {
      await store.createBucket({ name: 'mpl', owner, region: 'us-east-1' });
      const ids: Record<string, string[]> = {};
      for (const key of ['a', 'a', 'b', 'c/1', 'c/2']) {
        const uploadId = randomUUID();
        (ids[key] ??= []).push(uploadId);
        await store.createUpload({ bucket: 'mpl', key, uploadId, owner, headers: {}, userMetadata: {}, tags: {} });
      }
      ids.a.sort();
      const page1 = await store.listUploads({ bucket: 'mpl', prefix: '', delimiter: '/', keyMarker: '', uploadIdMarker: '', maxUploads: 2 });
      expect(page1.uploads.map((u) => u.uploadId)).toEqual(ids.a);
      expect(page1).toMatchObject({ isTruncated: true, nextKeyMarker: 'a', nextUploadIdMarker: ids.a[1] });
      const page2 = await store.listUploads({ bucket: 'mpl', prefix: '', delimiter: '/', keyMarker: 'a', uploadIdMarker: ids.a[0], maxUploads: 10 });
      expect(page2.uploads.map((u) => u.uploadId)).toEqual([ids.a[1], ids.b[0]]);
      expect(page2.commonPrefixes).toEqual(['c/']);
      expect(page2.isTruncated).toBe(false);
      await store.putPart({ uploadId: ids.b[0], partNumber: 1, id: randomUUID(), size: 1, etag: '"e"', checksums: {}, chunks: [{ pos: 0, address: 'r'.repeat(64), size: 1 }] });
      await store.abortUpload('mpl', 'b', ids.b[0]);
      expect(await store.referencedChunks(['r'.repeat(64)])).toEqual([]);
      await expect(store.abortUpload('mpl', 'b', ids.b[0])).rejects.toMatchObject({ code: 'NoSuchUpload' });
      expect((await store.staleUploads(new Date(Date.now() + 60_000), 100)).length).toBeGreaterThanOrEqual(4);
      await store.deleteBucket('mpl');
      expect(await store.staleUploads(new Date(Date.now() + 60_000), 100)).toEqual(
        expect.not.arrayContaining([expect.objectContaining({ bucket: 'mpl' })]),
      );
    });

    test('DeleteObjects_batch: unversioned keys go at once with their chunks; versioned keys get markers', async () => {
      await store.createBucket({ name: 'bulk', owner, region: 'us-east-1' });
      const big = object('bulk', 'big', { inline: undefined, size: 4, chunks: [{ pos: 0, address: 't'.repeat(64), size: 4 }] });
      for (const o of [big, object('bulk', 'a'), object('bulk', 'b/c')]) await store.putObject(o);
      const results = await store.deleteObjects('bulk', [{ key: 'big' }, { key: 'a' }, { key: 'never' }, { key: 'b/c' }]);
      expect(results).toEqual([{ deleteMarker: false }, { deleteMarker: false }, { deleteMarker: false }, { deleteMarker: false }]);
      expect(await keys('bulk')).toEqual([]);
      expect(await store.referencedChunks(['t'.repeat(64)])).toEqual([]);
      await store.updateBucket('bulk', { versioning: 'Enabled' });
      const kept = object('bulk', 'v');
      await store.putObject(kept);
      const [marker, removed] = await store.deleteObjects('bulk', [{ key: 'v' }, { key: 'v', versionId: kept.id }]);
      expect(marker.deleteMarker).toBe(true);
      expect(removed).toEqual({ versionId: kept.id, deleteMarker: false });
      const left = await store.listVersions({ bucket: 'bulk', prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 10 });
      expect(left.versions.map((v) => [v.versionId, v.deleteMarker])).toEqual([[marker.versionId, true]]);
    });
  });
}
