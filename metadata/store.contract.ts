import { randomUUID } from 'node:crypto';
import type { MetadataStore, NewObject } from './store';

/** The MetadataStore contract, run on every implementation (PGlite in a worker, PostgreSQL). */
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
  });
}
