import { randomUUID } from 'node:crypto';
import type { Grant, MetadataStore, NewObject, NewUser, Retention, StoredKey } from './store';

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

    // ---- object lock: every rule decided in the store's transaction, by the database's clock ----

    const hours = (n: number) => new Date(Date.now() + n * 3_600_000);
    const gov = (until: Date): Retention => ({ mode: 'GOVERNANCE', until });
    const comp = (until: Date): Retention => ({ mode: 'COMPLIANCE', until });

    test('ObjectLock_bucket (CockroachDB-compatible SQL, guarded UPDATE): lock comes with versioning Enabled and keeps it so', async () => {
      await store.createBucket({ name: 'lock-new', owner, region: 'us-east-1', objectLock: {} });
      expect(await store.getBucket('lock-new')).toMatchObject({ versioning: 'Enabled', objectLock: {} });
      await expect(store.updateBucket('lock-new', { versioning: 'Suspended' })).rejects.toMatchObject({ code: 'InvalidBucketState' });
      expect((await store.getBucket('lock-new'))?.versioning).toBe('Enabled');
      const rule = { defaultRetention: { mode: 'COMPLIANCE' as const, years: 2 } };
      await store.updateBucket('lock-new', { objectLock: rule });
      expect((await store.getBucket('lock-new'))?.objectLock).toEqual(rule);
      // An existing bucket: only once its versioning is Enabled (or becomes so in the same change).
      await store.createBucket({ name: 'lock-later', owner, region: 'us-east-1' });
      await expect(store.updateBucket('lock-later', { objectLock: {} })).rejects.toMatchObject({ code: 'InvalidBucketState' });
      await store.updateBucket('lock-later', { versioning: 'Suspended' });
      await expect(store.updateBucket('lock-later', { objectLock: {} })).rejects.toMatchObject({ code: 'InvalidBucketState' });
      expect(await store.getBucket('lock-later')).not.toHaveProperty('objectLock');
      await store.updateBucket('lock-later', { versioning: 'Enabled', objectLock: {} });
      expect(await store.getBucket('lock-later')).toMatchObject({ versioning: 'Enabled', objectLock: {} });
      await expect(store.updateBucket('nobucket', { objectLock: {} })).rejects.toMatchObject({ code: 'NoSuchBucket' });
    });

    test('ObjectLock_retention: COMPLIANCE only lengthens; GOVERNANCE shortens, changes mode or goes only with the bypass', async () => {
      await store.createBucket({ name: 'lock-ret', owner, region: 'us-east-1', objectLock: {} });
      const v = object('lock-ret', 'k', { retention: gov(hours(2)) });
      await store.putObject(v);
      expect((await store.getObject('lock-ret', 'k')).retention).toEqual(gov(v.retention!.until));
      const set = (r: Retention | null, bypassGovernance = false) => store.putObjectRetention('lock-ret', 'k', undefined, r, { bypassGovernance });
      const lengthened = gov(hours(3));
      expect(await set(lengthened)).toBe(v.id); // lengthened freely
      await expect(set(gov(hours(1)))).rejects.toMatchObject({ code: 'AccessDenied' });
      await expect(set(null)).rejects.toMatchObject({ code: 'AccessDenied' });
      await expect(set(comp(hours(3)))).rejects.toMatchObject({ code: 'AccessDenied' });
      expect((await store.getObject('lock-ret', 'k')).retention).toEqual(lengthened); // the refusals changed nothing
      await set(gov(hours(1)), true);
      expect((await store.getObject('lock-ret', 'k')).retention?.until.getTime()).toBeLessThan(hours(1.5).getTime());
      await set(comp(hours(2)), true);
      await expect(set(comp(hours(1)), true)).rejects.toMatchObject({ code: 'AccessDenied' }); // no bypass of COMPLIANCE
      await expect(set(gov(hours(5)), true)).rejects.toMatchObject({ code: 'AccessDenied' });
      await expect(set(null, true)).rejects.toMatchObject({ code: 'AccessDenied' });
      const longer = comp(hours(4));
      await set(longer);
      expect((await store.getObject('lock-ret', 'k')).retention).toEqual(longer);
      // An expired retention binds nothing: it is replaced or removed at will.
      const old = object('lock-ret', 'old', { retention: comp(new Date(Date.now() - 1000)) });
      await store.putObject(old);
      await store.putObjectRetention('lock-ret', 'old', old.id, null);
      expect(await store.getObject('lock-ret', 'old')).not.toHaveProperty('retention');
      await expect(store.putObjectRetention('lock-ret', 'nope', undefined, null)).rejects.toMatchObject({ code: 'NoSuchKey' });
      await expect(store.putObjectRetention('lock-ret', 'k', randomUUID(), null)).rejects.toMatchObject({ code: 'NoSuchVersion' });
      await expect(store.putObjectRetention('nobucket', 'k', undefined, null)).rejects.toMatchObject({ code: 'NoSuchBucket' });
    });

    test('ObjectLock_delete (CockroachDB-compatible SQL, checked on the locked row by now()): a locked version is refused by every path, the rest is deleted', async () => {
      await store.createBucket({ name: 'lock-del', owner, region: 'us-east-1', objectLock: {} });
      const chunk = 'u'.repeat(64);
      const held = object('lock-del', 'held', { legalHold: true, inline: undefined, size: 4, chunks: [{ pos: 0, address: chunk, size: 4 }] });
      const compliance = object('lock-del', 'comp', { retention: comp(hours(1)) });
      const governance = object('lock-del', 'gov', { retention: gov(hours(1)) });
      const free = object('lock-del', 'free', { retention: gov(new Date(Date.now() - 1000)), legalHold: false });
      for (const o of [held, compliance, governance, free]) await store.putObject(o);
      const refused = { deleteMarker: false, refused: 'ObjectLocked' };
      expect(await store.deleteObject('lock-del', 'held', held.id, { bypassGovernance: true })).toEqual(refused);
      expect(await store.deleteObject('lock-del', 'comp', compliance.id, { bypassGovernance: true })).toEqual(refused);
      expect(await store.deleteObject('lock-del', 'gov', governance.id)).toEqual(refused);
      expect(await store.getObject('lock-del', 'held', held.id)).toMatchObject({ legalHold: true, isLatest: true });
      expect(await store.referencedChunks([chunk])).toEqual([chunk]);
      // A delete marker is no removal: allowed, and the locked versions become noncurrent (object_versions).
      for (const k of ['held', 'comp', 'gov']) expect((await store.deleteObject('lock-del', k)).deleteMarker).toBe(true);
      const results = await store.deleteObjects('lock-del', [
        { key: 'held', versionId: held.id }, { key: 'free', versionId: free.id }, { key: 'comp', versionId: compliance.id }, { key: 'gov', versionId: governance.id },
      ]);
      expect(results).toEqual([refused, { versionId: free.id, deleteMarker: false }, refused, refused]);
      expect(await store.getObject('lock-del', 'comp', compliance.id)).toMatchObject({ retention: compliance.retention, isLatest: false });
      await expect(store.deleteBucket('lock-del')).rejects.toMatchObject({ code: 'BucketNotEmpty' });
      // GOVERNANCE gives way to the bypass; a legal hold once it is off.
      expect(await store.deleteObjects('lock-del', [{ key: 'gov', versionId: governance.id, bypassGovernance: true }])).toEqual([{ versionId: governance.id, deleteMarker: false }]);
      expect(await store.putObjectLegalHold('lock-del', 'held', held.id, false)).toBe(held.id);
      expect(await store.deleteObject('lock-del', 'held', held.id)).toEqual({ versionId: held.id, deleteMarker: false });
      expect(await store.referencedChunks([chunk])).toEqual([]);
      expect(await store.deleteObject('lock-del', 'comp', compliance.id)).toEqual(refused);
    });

    test('ObjectLock_default: a version written without a retention gets the bucket default from its creation time; an upload passes its own', async () => {
      await store.createBucket({ name: 'lock-def', owner, region: 'us-east-1', objectLock: { defaultRetention: { mode: 'GOVERNANCE', days: 2 } } });
      await store.putObject(object('lock-def', 'days'));
      const days = await store.getObject('lock-def', 'days');
      expect(days.retention).toEqual(gov(new Date(days.lastModified.getTime() + 2 * 86_400_000)));
      expect(days).not.toHaveProperty('legalHold');
      const own = comp(hours(1));
      await store.putObject(object('lock-def', 'own', { retention: own, legalHold: true }));
      expect(await store.getObject('lock-def', 'own')).toMatchObject({ retention: own, legalHold: true });
      await store.updateBucket('lock-def', { objectLock: { defaultRetention: { mode: 'COMPLIANCE', years: 1 } } });
      const complete = async (key: string, lock: { retention?: Retention; legalHold?: boolean }) => {
        const uploadId = randomUUID();
        await store.createUpload({ bucket: 'lock-def', key, uploadId, owner, headers: {}, userMetadata: {}, tags: {}, ...lock });
        const upload = await store.getUpload('lock-def', key, uploadId);
        expect({ retention: upload.retention, legalHold: upload.legalHold }).toEqual({ retention: lock.retention, legalHold: lock.legalHold });
        await store.putPart({ uploadId, partNumber: 1, id: randomUUID(), size: 1, etag: '"p"', checksums: {}, chunks: [{ pos: 0, address: 'v'.repeat(64), size: 1 }] });
        const { inline: _i, chunks: _c, size: _s, ...done } = object('lock-def', key, { retention: upload.retention, legalHold: upload.legalHold });
        await store.completeUpload({ bucket: 'lock-def', key, uploadId }, [{ partNumber: 1, etag: '"p"' }], done);
        return store.getObject('lock-def', key);
      };
      expect(await complete('mp-own', { retention: own, legalHold: false })).toMatchObject({ retention: own, legalHold: false });
      const byDefault = await complete('mp-default', {});
      const year = new Date(byDefault.lastModified);
      year.setUTCFullYear(year.getUTCFullYear() + 1);
      expect(byDefault.retention).toEqual(comp(year));
    });

    const canonical = (n: number) => n.toString(16).padStart(64, '0');
    function user(name: string, n: number, extra: Partial<NewUser> = {}): NewUser {
      return { name, id: canonical(n), userId: `AIDA${n}`, source: 'local', policies: [], ...extra };
    }
    function key(accessKeyId: string, userName: string): StoredKey {
      return { accessKeyId, userName, sealedSecret: `v1.sealed-${accessKeyId}`, status: 'Active', createdAt: new Date('2024-05-01T00:00:00Z') };
    }
    const reader: Grant = { grantee: { type: 'CanonicalUser', id: canonical(99) }, permission: 'READ' };
    const everyone: Grant = { grantee: { type: 'Group', uri: 'http://acs.amazonaws.com/groups/global/AllUsers' }, permission: 'READ' };

    test('DeleteObjects_guards (CockroachDB-compatible SQL): ifCurrent and noncurrent leave a key changed since it was read unchanged, bulk or versioned', async () => {
      await store.createBucket({ name: 'cond', owner, region: 'us-east-1' });
      const seen = object('cond', 'seen');
      const rewritten = object('cond', 'rewritten');
      await store.putObject(seen);
      await store.putObject(rewritten);
      await store.putObject(object('cond', 'rewritten')); // after the look: a new current version
      const results = await store.deleteObjects('cond', [{ key: 'seen', ifCurrent: seen.id }, { key: 'rewritten', ifCurrent: rewritten.id }, { key: 'never', ifCurrent: randomUUID() }]);
      expect(results).toEqual([{ deleteMarker: false }, { deleteMarker: false, unchanged: true }, { deleteMarker: false, unchanged: true }]);
      expect(await keys('cond')).toEqual(['rewritten']);

      await store.updateBucket('cond', { versioning: 'Enabled' });
      const current = await store.getObject('cond', 'rewritten');
      const [stale] = await store.deleteObjects('cond', [{ key: 'rewritten', ifCurrent: seen.id }]);
      expect(stale).toEqual({ deleteMarker: false, unchanged: true });
      const [marker] = await store.deleteObjects('cond', [{ key: 'rewritten', ifCurrent: current.id }]);
      expect(marker).toMatchObject({ deleteMarker: true, versionId: expect.any(String) });
      // `noncurrent`: a version promoted to current meanwhile stays; a noncurrent one goes.
      const [promoted] = await store.deleteObjects('cond', [{ key: 'rewritten', versionId: marker.versionId!, noncurrent: true }]);
      expect(promoted).toEqual({ deleteMarker: false, unchanged: true });
      const [old] = await store.deleteObjects('cond', [{ key: 'rewritten', versionId: current.versionId, noncurrent: true }]);
      expect(old).toEqual({ versionId: current.versionId, deleteMarker: false });
      // A version id with `ifCurrent`: only while that version is current (an expired delete marker).
      const [stay] = await store.deleteObjects('cond', [{ key: 'rewritten', versionId: marker.versionId!, ifCurrent: seen.id }]);
      expect(stay).toEqual({ deleteMarker: false, unchanged: true });
      const [gone] = await store.deleteObjects('cond', [{ key: 'rewritten', versionId: marker.versionId!, ifCurrent: (await store.getObject('cond', 'rewritten')).id }]);
      expect(gone).toEqual({ versionId: marker.versionId, deleteMarker: true });
    });

    test('LifecyclePages (CockroachDB-compatible SQL, keyset pages): current, noncurrent and upload rows each read once, under a prefix', async () => {
      await store.createBucket({ name: 'lc', owner, region: 'us-east-1' });
      await store.updateBucket('lc', { versioning: 'Enabled', lifecycle: [{ id: 'r', enabled: true, filter: { form: 'filter', tags: [] }, expiration: { days: 1 } }] });
      for (const key of ['a/1', 'a/2', 'a/3', 'b/1']) for (let v = 0; v < 3; v++) await store.putObject(object('lc', key, { tags: { v: String(v) } }));
      await store.deleteObject('lc', 'a/3');
      expect((await store.lifecycle.buckets('', 10)).map((b) => [b.name, b.versioning, b.lifecycle?.length])).toContainEqual(['lc', 'Enabled', 1]);
      expect((await store.lifecycle.buckets('lc', 10)).map((b) => b.name)).not.toContain('lc');

      const current: string[] = [];
      for (let after: string | undefined, page; (page = await store.lifecycle.currentVersions('lc', 'a/', after, 2)).length > 0; after = page[page.length - 1].key) {
        current.push(...page.map((v) => `${v.key}:${v.deleteMarker ? `marker:${v.hasNoncurrent}` : v.tags.v}`));
      }
      expect(current).toEqual(['a/1:2', 'a/2:2', 'a/3:marker:true']);

      const old: string[] = [];
      for (let before, page; (page = await store.lifecycle.noncurrentVersions('lc', 'a/', before, 2)).length > 0; before = page[page.length - 1].cursor) {
        old.push(...page.map((v) => `${v.key}:${v.tags.v ?? 'x'}`));
        for (const v of page) expect(v.currentModified!.getTime()).toBeGreaterThanOrEqual(v.lastModified.getTime());
      }
      expect(old).toEqual(['a/3:2', 'a/3:1', 'a/3:0', 'a/2:1', 'a/2:0', 'a/1:1', 'a/1:0']);

      for (const key of ['b/1', 'a/9', 'a/9']) await store.createUpload({ bucket: 'lc', key, uploadId: randomUUID(), owner, headers: {}, userMetadata: {}, tags: {} });
      const uploads: string[] = [];
      for (let after, page; (page = await store.lifecycle.uploads('lc', 'a/', after, 1)).length > 0; after = page[page.length - 1]) uploads.push(...page.map((u) => u.key));
      expect(uploads).toEqual(['a/9', 'a/9']);
    });

    test('IamUsers (CockroachDB-compatible SQL): create, a taken name or id is EntityAlreadyExists, get, list, update, patch policies, disable', async () => {
      await store.iam.createUser(user('alice', 1, { policies: ['readonly'] }));
      await store.iam.createUser(user('oidc.example/42', 2, { source: 'oidc' }));
      await expect(store.iam.createUser(user('alice', 3))).rejects.toMatchObject({ name: 'IamError', code: 'EntityAlreadyExists' });
      await expect(store.iam.createUser(user('carol', 1))).rejects.toMatchObject({ code: 'EntityAlreadyExists' });
      const alice = await store.iam.getUser('alice');
      expect(alice).toMatchObject({ name: 'alice', id: canonical(1), userId: 'AIDA1', source: 'local', policies: ['readonly'], disabled: false });
      expect(Math.abs(alice!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(Math.abs(alice!.sessionsValidAfter.getTime() - Date.now())).toBeLessThan(60_000);
      expect(await store.iam.getUserById(canonical(2))).toMatchObject({ name: 'oidc.example/42', source: 'oidc' });
      expect(await store.iam.getUser('carol')).toBeUndefined();
      expect(await store.iam.getUserById(canonical(3))).toBeUndefined();
      const names = (await store.iam.listUsers()).map((u) => u.name);
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining(['alice', 'oidc.example/42']));
      const revoked = new Date('2030-01-02T03:04:05Z');
      await store.iam.updateUser('alice', { policies: ['readonly', 'writer'] });
      await store.iam.updateUser('alice', { disabled: true, sessionsValidAfter: revoked });
      expect(await store.iam.getUser('alice')).toMatchObject({ policies: ['readonly', 'writer'], disabled: true, sessionsValidAfter: revoked });
      await store.iam.updateUser('alice', { disabled: false, policies: [] });
      expect(await store.iam.getUser('alice')).toMatchObject({ policies: [], disabled: false, sessionsValidAfter: revoked });
      await store.iam.updateUser('alice', {}); // an empty patch changes nothing
      await expect(store.iam.updateUser('nobody', { disabled: true })).rejects.toMatchObject({ code: 'NoSuchEntity' });
    });

    test('IamKeys (CockroachDB-compatible SQL): create, get, list, status, delete; NoSuchEntity for an unknown user or key', async () => {
      await store.iam.createUser(user('keyed', 10));
      await store.iam.createKey(key('AKKEY1', 'keyed'));
      await store.iam.createKey({ ...key('AKKEY2', 'keyed'), createdAt: new Date('2024-06-01T00:00:00Z') });
      expect(await store.iam.getKey('AKKEY1')).toEqual(key('AKKEY1', 'keyed'));
      expect(await store.iam.getKey('nope')).toBeUndefined();
      await expect(store.iam.createKey(key('AKKEY1', 'keyed'))).rejects.toMatchObject({ code: 'EntityAlreadyExists' });
      await expect(store.iam.createKey(key('AKKEY3', 'nobody'))).rejects.toMatchObject({ code: 'NoSuchEntity' });
      expect(await store.iam.getKey('AKKEY3')).toBeUndefined();
      expect((await store.iam.listKeys('keyed')).map((k) => k.accessKeyId)).toEqual(['AKKEY1', 'AKKEY2']);
      expect(await store.iam.listKeys('nobody')).toEqual([]);
      await store.iam.setKeyStatus('AKKEY1', 'Inactive');
      expect(await store.iam.getKey('AKKEY1')).toMatchObject({ status: 'Inactive' });
      await expect(store.iam.setKeyStatus('nope', 'Active')).rejects.toMatchObject({ code: 'NoSuchEntity' });
      await store.iam.deleteKey('AKKEY1');
      expect(await store.iam.getKey('AKKEY1')).toBeUndefined();
      expect((await store.iam.listKeys('keyed')).map((k) => k.accessKeyId)).toEqual(['AKKEY2']);
    });

    test('IamUsers_delete (CockroachDB-compatible SQL): DeleteConflict while the user owns a bucket; its keys go with it', async () => {
      await store.iam.createUser(user('leaving', 20));
      await store.iam.createKey(key('AKLEAVE1', 'leaving'));
      await store.iam.createKey(key('AKLEAVE2', 'leaving'));
      await store.createBucket({ name: 'leaving-bucket', owner: canonical(20), region: 'us-east-1' });
      await expect(store.iam.deleteUser('leaving')).rejects.toMatchObject({ code: 'DeleteConflict' });
      expect(await store.iam.getKey('AKLEAVE1')).toBeDefined(); // the refusal changed nothing
      await store.deleteBucket('leaving-bucket');
      await store.iam.deleteUser('leaving');
      expect(await store.iam.getUser('leaving')).toBeUndefined();
      expect(await store.iam.getKey('AKLEAVE1')).toBeUndefined();
      expect(await store.iam.getKey('AKLEAVE2')).toBeUndefined();
      await expect(store.iam.deleteUser('leaving')).rejects.toMatchObject({ code: 'NoSuchEntity' });
      // A new user of the same name starts with no keys.
      await store.iam.createUser(user('leaving', 21));
      expect(await store.iam.listKeys('leaving')).toEqual([]);
    });

    test('IamUsers_deleteRacesKeys (CockroachDB-compatible SQL, SERIALIZABLE): a key added while its user is deleted never outlives it', async () => {
      await store.iam.createUser(user('racing', 30));
      const results = await Promise.allSettled([
        ...Array.from({ length: 5 }, (_, i) => store.iam.createKey(key(`AKRACE${i}`, 'racing'))),
        store.iam.deleteUser('racing'),
      ]);
      expect(results[5].status).toBe('fulfilled');
      for (const r of results.slice(0, 5)) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'NoSuchEntity' });
      expect(await store.iam.listKeys('racing')).toEqual([]);
    });

    test('IamPolicies (CockroachDB-compatible SQL): put, replace, list, delete; DeleteConflict while attached', async () => {
      await store.iam.putPolicy('p-read', '{"Version":"2012-10-17","Statement":[]}');
      const first = (await store.iam.getPolicy('p-read'))!;
      await store.iam.putPolicy('p-read', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}');
      await store.iam.putPolicy('p-write', '{}');
      const replaced = (await store.iam.getPolicy('p-read'))!;
      expect(replaced.document).toBe('{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}');
      expect(replaced.updatedAt.getTime()).toBeGreaterThanOrEqual(first.updatedAt.getTime());
      expect(await store.iam.getPolicy('p-none')).toBeUndefined();
      const names = (await store.iam.listPolicies()).map((p) => p.name);
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining(['p-read', 'p-write']));
      await store.iam.createUser(user('attached', 40, { policies: ['other', 'p-read'] }));
      await expect(store.iam.deletePolicy('p-read')).rejects.toMatchObject({ code: 'DeleteConflict' });
      expect(await store.iam.getPolicy('p-read')).toBeDefined();
      await store.iam.updateUser('attached', { policies: ['other'] });
      await store.iam.deletePolicy('p-read');
      expect(await store.iam.getPolicy('p-read')).toBeUndefined();
      await expect(store.iam.deletePolicy('p-read')).rejects.toMatchObject({ code: 'NoSuchEntity' });
    });

    test('IamKeyCheck (CockroachDB-compatible SQL, ON CONFLICT DO NOTHING): the first value stays, later calls get it back', async () => {
      const first = await store.iam.keyCheck('v1.first');
      expect(first).toBe('v1.first');
      expect(await store.iam.keyCheck('v1.second')).toBe('v1.first');
    });

    test('UpdateBucket_access: policy, ACL, ownership, public access block and quota round-trip; null removes each', async () => {
      await store.createBucket({ name: 'access', owner, region: 'us-east-1' });
      expect(await store.getBucket('access')).not.toHaveProperty('acl');
      const pab = { blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: true, restrictPublicBuckets: false };
      const policy = '{"Version":"2012-10-17","Statement":[]}';
      await store.updateBucket('access', { policy, acl: [reader, everyone], ownership: 'BucketOwnerEnforced', publicAccessBlock: pab, quotaBytes: 5_000_000_000 });
      const set = { policy, acl: [reader, everyone], ownership: 'BucketOwnerEnforced', publicAccessBlock: pab, quotaBytes: 5_000_000_000 };
      expect(await store.getBucket('access')).toMatchObject(set);
      expect((await store.listBuckets(owner)).find((b) => b.name === 'access')).toMatchObject(set);
      await store.updateBucket('access', { policy: null, acl: null, ownership: null, publicAccessBlock: null, quotaBytes: null });
      const b = await store.getBucket('access');
      for (const field of ['policy', 'acl', 'ownership', 'publicAccessBlock', 'quotaBytes']) expect(b).not.toHaveProperty(field);
      await expect(store.updateBucket('nobucket', { policy: null })).rejects.toMatchObject({ code: 'NoSuchBucket' });
    });

    test('ObjectAcl: stored with the object, kept when noncurrent, set by version; delete markers refused; a copy has its own', async () => {
      await store.createBucket({ name: 'acl', owner, region: 'us-east-1' });
      await store.putObject(object('acl', 'plain'));
      expect(await store.getObject('acl', 'plain')).not.toHaveProperty('acl');
      await store.updateBucket('acl', { versioning: 'Enabled' });
      const first = object('acl', 'k', { acl: [reader] });
      await store.putObject(first);
      expect((await store.getObject('acl', 'k')).acl).toEqual([reader]);
      await store.putObject(object('acl', 'k'));
      expect((await store.getObject('acl', 'k', first.id)).acl).toEqual([reader]); // moved to object_versions with its row
      expect(await store.getObject('acl', 'k')).not.toHaveProperty('acl');
      expect(await store.putObjectAcl('acl', 'k', undefined, [everyone])).not.toBe('null');
      expect((await store.getObject('acl', 'k')).acl).toEqual([everyone]);
      expect(await store.putObjectAcl('acl', 'k', first.id, [])).toBe(first.id);
      expect((await store.getObject('acl', 'k', first.id)).acl).toEqual([]);
      const marker = await store.deleteObject('acl', 'k');
      expect((await store.getObject('acl', 'k', first.id)).acl).toEqual([]);
      await expect(store.putObjectAcl('acl', 'k', undefined, [reader])).rejects.toMatchObject({ code: 'NoSuchKey' });
      await expect(store.putObjectAcl('acl', 'k', marker.versionId, [reader])).rejects.toMatchObject({ code: 'MethodNotAllowed' });
      await expect(store.putObjectAcl('acl', 'nope', undefined, [reader])).rejects.toMatchObject({ code: 'NoSuchKey' });
      await expect(store.putObjectAcl('acl', 'k', randomUUID(), [reader])).rejects.toMatchObject({ code: 'NoSuchVersion' });
      await expect(store.putObjectAcl('nobucket', 'k', undefined, [reader])).rejects.toMatchObject({ code: 'NoSuchBucket' });
      // Removing the marker brings the previous version back with its ACL.
      await store.deleteObject('acl', 'k', marker.versionId);
      expect((await store.getObject('acl', 'k')).acl).toEqual([everyone]);
      // CopyObject: the copy gets the ACL it is given, not the source's.
      const src = object('acl', 'src', { inline: undefined, size: 2, chunks: [{ pos: 0, address: 'f'.repeat(64), size: 2 }], acl: [reader] });
      await store.putObject(src);
      await store.putObject(object('acl', 'copy', { inline: undefined, size: 2, chunks: { copyOf: src.id }, acl: [everyone] }));
      await store.putObject(object('acl', 'copy2', { inline: undefined, size: 2, chunks: { copyOf: src.id } }));
      expect((await store.getObject('acl', 'copy')).acl).toEqual([everyone]);
      expect(await store.getObject('acl', 'copy2')).not.toHaveProperty('acl');
    });

    test('Multipart_acl: the upload keeps its ACL and the completed object gets it, unless completion brings its own', async () => {
      await store.createBucket({ name: 'mpacl', owner, region: 'us-east-1' });
      const complete = async (key: string, acl: Grant[] | undefined, given: Grant[] | undefined) => {
        const uploadId = randomUUID();
        await store.createUpload({ bucket: 'mpacl', key, uploadId, owner, headers: {}, userMetadata: {}, tags: {}, ...(acl ? { acl } : {}) });
        const listed = await store.listUploads({ bucket: 'mpacl', prefix: key, delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 10 });
        expect(listed.uploads[0].acl).toEqual(acl);
        expect((await store.getUpload('mpacl', key, uploadId)).acl).toEqual(acl);
        await store.putPart({ uploadId, partNumber: 1, id: randomUUID(), size: 1, etag: '"p"', checksums: {}, chunks: [{ pos: 0, address: 'g'.repeat(64), size: 1 }] });
        const { inline: _i, chunks: _c, size: _s, ...done } = object('mpacl', key, given ? { acl: given } : {});
        await store.completeUpload({ bucket: 'mpacl', key, uploadId }, [{ partNumber: 1, etag: '"p"' }], done);
        return (await store.getObject('mpacl', key)).acl;
      };
      expect(await complete('from-upload', [reader], undefined)).toEqual([reader]);
      expect(await complete('own', [reader], [everyone])).toEqual([everyone]);
      expect(await complete('none', undefined, undefined)).toBeUndefined();
    });

    test('BucketUsage (CockroachDB-compatible SQL, one aggregate): every version counts, markers do not, shared chunks are physical once', async () => {
      await store.createBucket({ name: 'usage', owner, region: 'us-east-1' });
      expect(await store.bucketUsage('usage')).toEqual({ objects: 0, logicalBytes: 0, physicalBytes: 0 });
      const shared = [{ pos: 0, address: 'h'.repeat(64), size: 100 }, { pos: 100, address: 'i'.repeat(64), size: 50 }];
      await store.putObject(object('usage', 'a', { inline: undefined, size: 150, chunks: shared }));
      await store.putObject(object('usage', 'b', { inline: undefined, size: 250, chunks: [...shared, { pos: 150, address: 'j'.repeat(64), size: 100 }] }));
      await store.putObject(object('usage', 'small')); // 3 inline bytes
      expect(await store.bucketUsage('usage')).toEqual({ objects: 3, logicalBytes: 403, physicalBytes: 253 });
      await store.updateBucket('usage', { versioning: 'Enabled' });
      await store.putObject(object('usage', 'a', { inline: undefined, size: 100, chunks: [shared[0]] })); // a's first version stays
      await store.deleteObject('usage', 'b'); // a marker: b's version stays, the marker counts nothing
      expect(await store.bucketUsage('usage')).toEqual({ objects: 4, logicalBytes: 503, physicalBytes: 253 });
      await expect(store.bucketUsage('nobucket')).rejects.toMatchObject({ code: 'NoSuchBucket' });
    });
  });
}
