import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { objectBytes, s3Client, startTestServer, tempDataDir } from '../harness';
import { writeOldDataDir } from '../../metadata/pglite-old-data-dir';

/** A data dir written by the rfs that kept its metadata in PGlite, started by today's rfs:
 * every object and version reads back through S3, and the PGlite files are kept aside. */
test('Upgrade_fromPGliteDataDir: objects and versions written by an older rfs read back after the first start', async () => {
  const dir = await tempDataDir('upgrade');
  try {
    const old = await writeOldDataDir(dir);
    const server = await startTestServer({}, dir);
    const s3 = s3Client(server.url);
    try {
      expect((await objectBytes(s3, 'photos', 'cat.png')).equals(Buffer.from(old.body, 'base64'))).toBe(true);
      const older = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cat.png', VersionId: old.first }));
      expect(await older.Body!.transformToString()).toBe('hello');
      expect(older.Metadata).toEqual({ who: 'me' });
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'photos', Prefix: 'cat.png' }));
      expect(versions.Versions?.map((v) => v.VersionId)).toEqual([old.second, old.first]);
      expect((await s3.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'many/' }))).KeyCount).toBe(1000);
    } finally {
      s3.destroy();
      await server.close();
    }
    expect(existsSync(path.join(dir, 'meta-pglite', 'PG_VERSION'))).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
