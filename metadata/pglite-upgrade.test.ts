import { rm, readdir } from 'node:fs/promises';
import { tempDataDir } from './temp-dir.testing';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { openMetadata } from './open';
import { writeOldDataDir } from './pglite-old-data-dir';

let data: string;
beforeAll(async () => {
  data = await tempDataDir('upgrade');
});
afterAll(() => rm(data, { recursive: true, force: true }));

test('Upgrade_fromPGlite: objects, versions, chunks, uploads and keys survive, migration 5 on top; PGlite files kept aside', async () => {
  const meta = path.join(data, 'meta');
  const { first, second } = await writeOldDataDir(data);

  const store = await openMetadata({ metaDir: meta });
  try {
    const current = await store.getObject('photos', 'cat.png');
    expect(current).toMatchObject({ versionId: second, size: 300, userMetadata: { who: 'me' }, headers: { 'content-type': 'image/png' } });
    expect((await store.getChunks(current.id, 0, 299)).map((c) => c.size)).toEqual([100, 200]);
    const older = await store.getObject('photos', 'cat.png', first);
    expect(Buffer.from(older.inline!).toString()).toBe('hello');
    expect((await store.getObject('photos', '日本/ü key')).key).toBe('日本/ü key');
    expect(await store.getBucket('photos')).toMatchObject({ versioning: 'Enabled', region: 'eu-west-1' });
    const page = await store.listObjects({ bucket: 'photos', prefix: 'many/', delimiter: '', after: '', maxKeys: 1000 });
    expect(page.objects).toHaveLength(1000);
    expect(page.isTruncated).toBe(true);
    expect((await store.listUploads({ bucket: 'photos', prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 10 })).uploads.map((u) => u.key)).toEqual(['half.bin']);
    // The old key row was copied (the upgrade checks every table's count) but belongs to no
    // user, so it never authenticates.
    expect(await store.iam.getKey('AKOLD')).toBeUndefined();
    // Migration 5 applies on top of the copied rows: ACLs, usage and users work on them.
    expect(current).not.toHaveProperty('acl');
    const grant = { grantee: { type: 'Group' as const, uri: 'http://acs.amazonaws.com/groups/global/AllUsers' }, permission: 'READ' as const };
    expect(await store.putObjectAcl('photos', 'cat.png', first, [grant])).toBe(first);
    expect((await store.getObject('photos', 'cat.png', first)).acl).toEqual([grant]);
    expect(await store.bucketUsage('photos')).toEqual({ objects: 1203, logicalBytes: 300 + 5 * 1202, physicalBytes: 300 + 5 * 1202 });
    await store.iam.createUser({ name: 'after', id: 'a'.repeat(64), userId: 'AIDAAFTER', source: 'local', policies: [] });
    await store.iam.createKey({ accessKeyId: 'AKNEW', userName: 'after', sealedSecret: 'v1.x', status: 'Active', createdAt: new Date() });
    expect(await store.iam.getKey('AKNEW')).toMatchObject({ userName: 'after', status: 'Active' });
  } finally {
    await store.close();
  }
  // The PGlite files are kept beside the new database until the user removes them.
  expect(existsSync(path.join(data, 'meta-pglite', 'PG_VERSION'))).toBe(true);
  expect((await readdir(data)).sort()).toEqual(['chunks', 'meta', 'meta-pglite']);

  // A second start finds the PostgreSQL data dir and copies nothing again.
  const again = await openMetadata({ metaDir: meta });
  expect((await again.listObjects({ bucket: 'photos', prefix: 'cat', delimiter: '', after: '', maxKeys: 10 })).objects).toHaveLength(1);
  await again.close();
  expect((await readdir(data)).sort()).toEqual(['chunks', 'meta', 'meta-pglite']);
});
