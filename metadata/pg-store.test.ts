import { Client } from 'pg';
import { describeMetadataStore } from './store.contract';
import { PgClient } from './pg-client';
import { SqlMetadataStore } from './sql-store';
import { MIGRATIONS } from './schema';

/** The same contract on a real PostgreSQL server, CockroachDB's stand-in: every statement
 * SqlMetadataStore sends is in the dialect CockroachDB accepts. */
const ADMIN_URL = process.env.RFS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const db = `rfs_test_${process.pid}`;

afterAll(async () => {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
});

describeMetadataStore('PostgreSQL (CockroachDB-compatible SQL)', async () => {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  return SqlMetadataStore.open(new PgClient(ADMIN_URL.replace(/\/[^/]*$/, `/${db}`)));
});

/** Counts the rows a store reads, to show that listing cost follows the page, not the bucket. */
class CountingClient extends PgClient {
  rows = 0;
  override async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    const r = await super.query<T>(text, params);
    this.rows += r.length;
    return r;
  }
}

test('ListObjects_delimiterSeeks (CockroachDB-compatible SQL on PostgreSQL): 5,000 keys under one prefix cost a handful of rows', async () => {
  const name = `${db}_seek`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const client = new CountingClient(ADMIN_URL.replace(/\/[^/]*$/, `/${name}`));
  const store = await SqlMetadataStore.open(client);
  try {
    await store.createBucket({ name: 'wide', owner: 'o', region: 'us-east-1' });
    // Bulk rows straight into the table: the listing, not the loading, is under test.
    await client.query(
      `INSERT INTO objects (bucket, key, version_id, size, etag, last_modified, owner, headers, user_meta, checksums)
       SELECT 'wide', convert_to('huge/' || lpad(i::TEXT, 5, '0'), 'UTF8'), gen_random_uuid(), 1, '"e"', now(), 'o', '{}', '{}', '{}'
         FROM generate_series(1, 5000) AS i`,
    );
    for (const k of ['a', 'huge', 'm/1', 'z/2']) await store.putObject({ bucket: 'wide', key: k, id: crypto.randomUUID(), tags: {}, size: 1, etag: '"e"', owner: 'o', headers: {}, userMetadata: {}, checksums: {}, inline: Buffer.from('x'), chunks: [] });
    client.rows = 0;
    const page = await store.listObjects({ bucket: 'wide', prefix: '', delimiter: '/', after: '', maxKeys: 1000 });
    expect(page.objects.map((o) => o.key)).toEqual(['a', 'huge']);
    expect(page.commonPrefixes).toEqual(['huge/', 'm/', 'z/']);
    expect(client.rows).toBeLessThan(100); // a small batch, never the 5,000 keys behind the prefix
    client.rows = 0;
    const small = await store.listObjects({ bucket: 'wide', prefix: '', delimiter: '/', after: '', maxKeys: 2 });
    expect([...small.objects.map((o) => o.key), ...small.commonPrefixes]).toEqual(['a', 'huge']);
    expect(client.rows).toBeLessThan(50);
  } finally {
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});

test('Migration_upgrade (CockroachDB-compatible SQL on PostgreSQL): an object written under schema 1 is the null version after schema 2', async () => {
  const name = `${db}_upgrade`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const client = new PgClient(ADMIN_URL.replace(/\/[^/]*$/, `/${name}`));
  try {
    // A database as issue 3's rfs left it: migration 1 only, one object with two chunks.
    await client.exec('CREATE TABLE schema_migrations (version INT8 PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    for (const statement of MIGRATIONS[0]) await client.exec(statement);
    await client.query('INSERT INTO schema_migrations (version) VALUES (1)');
    const id = crypto.randomUUID();
    await client.query(`INSERT INTO buckets (name, owner, region) VALUES ('old', 'o', 'us-east-1')`);
    await client.query(
      `INSERT INTO objects (bucket, key, version_id, size, etag, last_modified, owner, headers, user_meta, checksums)
       VALUES ('old', convert_to('k', 'UTF8'), $1, 10, '"e"', now(), 'o', '{}', '{"m":"1"}', '{}')`,
      [id],
    );
    await client.query(`INSERT INTO chunk_refs (owner, pos, address, size) VALUES ($1, 0, 'a', 4), ($1, 4, 'b', 6)`, [id]);
    const store = await SqlMetadataStore.open(client);
    expect(await store.getObject('old', 'k')).toMatchObject({ id, versionId: 'null', isLatest: true, deleteMarker: false, tags: {}, userMetadata: { m: '1' } });
    expect(await store.getBucket('old')).not.toHaveProperty('versioning');
    await store.updateBucket('old', { versioning: 'Enabled' });
    await store.putObject({ bucket: 'old', key: 'k', id: crypto.randomUUID(), tags: {}, size: 1, etag: '"n"', owner: 'o', headers: {}, userMetadata: {}, checksums: {}, inline: Buffer.from('x'), chunks: [] });
    expect(await store.getChunks(id, 0, 9)).toHaveLength(2); // the old object lives on as the null version
    expect((await store.getObject('old', 'k', 'null')).isLatest).toBe(false);
    await store.close();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
