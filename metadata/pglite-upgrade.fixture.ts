/** Test fixture, run as a child process by pglite-upgrade.test.ts: an rfs metadata database as
 * PGlite kept it, written through SqlMetadataStore. Prints the two version ids of cat.png. */
import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient } from './sql';
import { SqlMetadataStore } from './sql-store';
import type { NewObject } from './store';

function object(key: string, extra: Partial<NewObject> = {}): NewObject {
  return { bucket: 'photos', key, id: randomUUID(), size: 5, etag: '"e"', owner: 'o', tags: {}, headers: { 'content-type': 'image/png' }, userMetadata: { who: 'me' }, checksums: {}, inline: Buffer.from('hello'), chunks: [], ...extra };
}

async function main(dir: string): Promise<void> {
  const db = await PGlite.create(dir);
  const client: SqlClient = {
    query: async (text, params) => (await db.query<never>(text, params)).rows,
    transaction: (fn) => db.transaction((tx) => fn({ query: async (text, params) => (await tx.query<never>(text, params)).rows })),
    exec: async (text) => void (await db.exec(text)),
    close: () => db.close(),
  };
  const old = await SqlMetadataStore.open(client);
  await old.createBucket({ name: 'photos', owner: 'o', region: 'eu-west-1' });
  await old.updateBucket('photos', { versioning: 'Enabled' });
  const first = await old.putObject(object('cat.png'));
  const second = await old.putObject(object('cat.png', { size: 300, inline: undefined, chunks: [{ pos: 0, address: 'a'.repeat(64), size: 100 }, { pos: 100, address: 'b'.repeat(64), size: 200 }] }));
  await old.putObject(object('日本/ü key'));
  for (let i = 0; i < 1200; i++) await old.putObject(object(`many/${String(i).padStart(4, '0')}`)); // more than one batch
  await old.createUpload({ bucket: 'photos', key: 'half.bin', uploadId: randomUUID(), owner: 'o', headers: {}, userMetadata: {}, tags: {} });
  await old.putAccessKey({ accessKeyId: 'AKOLD', secretKey: 's3cr3t', owner: 'o', displayName: 'old' });
  await old.close();
  process.stdout.write(JSON.stringify({ first: first.versionId, second: second.versionId }));
}

void main(process.argv[2]);
