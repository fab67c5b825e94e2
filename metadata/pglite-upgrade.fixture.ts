/** Test fixture, run as a child process (PGlite cannot load inside Jest's VM): an rfs data dir
 * as the rfs before the supervised PostgreSQL left it, metadata in PGlite (`<data>/meta`,
 * written through SqlMetadataStore) and chunks in `<data>/chunks`. Prints the two version ids
 * of photos/cat.png and the bytes of the newer one (base64). */
import { createHash, randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient } from './sql';
import { SqlMetadataStore } from './sql-store';
import type { NewObject } from './store';
import path from 'node:path';
import { DiskChunkStore } from '../storage-node/disk-store';
import { chunkAddress } from '../storage-node/address';

/** The root account's canonical id (gateway/app.ts ROOT_OWNER), so the gateway test's root
 * key owns what the old rfs stored. */
const OWNER = createHash('sha256').update('rfs:root').digest('hex');

function object(key: string, extra: Partial<NewObject> = {}): NewObject {
  return { bucket: 'photos', key, id: randomUUID(), size: 5, etag: '"e"', owner: OWNER, tags: {}, headers: { 'content-type': 'image/png' }, userMetadata: { who: 'me' }, checksums: {}, inline: Buffer.from('hello'), chunks: [], ...extra };
}

/** What migration 5 added, which the PGlite rfs never had: dropped, so the rows the upgrade
 * reads have the old shape and the new columns take their defaults on the way in. */
const LATER_COLUMNS: Record<string, string[]> = {
  buckets: ['policy', 'acl', 'ownership', 'public_access_block', 'quota_bytes'],
  objects: ['acl'],
  object_versions: ['acl'],
  uploads: ['acl'],
  access_keys: ['user_name', 'status'],
};

async function forgetLaterSchema(client: SqlClient): Promise<void> {
  for (const [table, columns] of Object.entries(LATER_COLUMNS)) {
    await client.exec(`ALTER TABLE ${table} ${columns.map((c) => `DROP COLUMN ${c}`).join(', ')}`);
  }
  await client.exec('DROP TABLE users, iam_policies, iam_key_check');
  await client.exec('DELETE FROM schema_migrations WHERE version >= 5');
}

async function main(data: string): Promise<void> {
  const chunks = await DiskChunkStore.open(path.join(data, 'chunks'));
  const pieces = [Buffer.alloc(100, 'a'), Buffer.alloc(200, 'b')];
  for (const piece of pieces) await chunks.put(chunkAddress(piece), piece);
  await chunks.close();
  const db = await PGlite.create(path.join(data, 'meta'));
  const client: SqlClient = {
    query: async (text, params) => (await db.query<never>(text, params)).rows,
    transaction: (fn) => db.transaction((tx) => fn({ query: async (text, params) => (await tx.query<never>(text, params)).rows })),
    exec: async (text) => void (await db.exec(text)),
    close: () => db.close(),
  };
  const old = await SqlMetadataStore.open(client);
  await old.createBucket({ name: 'photos', owner: OWNER, region: 'eu-west-1' });
  await old.updateBucket('photos', { versioning: 'Enabled' });
  const first = await old.putObject(object('cat.png'));
  const second = await old.putObject(object('cat.png', { size: 300, inline: undefined, chunks: [{ pos: 0, address: chunkAddress(pieces[0]), size: 100 }, { pos: 100, address: chunkAddress(pieces[1]), size: 200 }] }));
  await old.putObject(object('日本/ü key'));
  for (let i = 0; i < 1200; i++) await old.putObject(object(`many/${String(i).padStart(4, '0')}`)); // more than one batch
  await old.createUpload({ bucket: 'photos', key: 'half.bin', uploadId: randomUUID(), owner: OWNER, headers: {}, userMetadata: {}, tags: {} });
  // A key row as the rfs of that time wrote it: a plain secret, no user.
  await client.query(`INSERT INTO access_keys (access_key_id, secret_key, owner, display_name) VALUES ('AKOLD', 's3cr3t', $1, 'old')`, [OWNER]);
  await forgetLaterSchema(client);
  await old.close();
  process.stdout.write(JSON.stringify({ first: first.versionId, second: second.versionId, body: Buffer.concat(pieces).toString('base64') }));
}

void main(process.argv[2]);
