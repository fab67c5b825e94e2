import { describeMetadataStore } from './store.contract';
import { PgClient } from './pg-client';
import { SqlMetadataStore } from './sql-store';
import { MIGRATIONS } from './schema';
import { createTestDatabase, withTestDatabase } from './pg.testing';

/** The same contract on a real PostgreSQL server, CockroachDB's stand-in: every statement
 * SqlMetadataStore sends is in the dialect CockroachDB accepts. */
const db = `rfs_test_${process.pid}`;
let contract: { drop(): Promise<void> } | undefined;
afterAll(() => contract?.drop());

/** A database of the test's own for `fn`, dropped afterwards whatever happens. */
const withDatabase = (suffix: string, fn: (url: string) => Promise<void>) => withTestDatabase(`${db}_${suffix}`, fn);

describeMetadataStore('PostgreSQL (CockroachDB-compatible SQL)', async () => {
  const created = await createTestDatabase(db);
  contract = created;
  return SqlMetadataStore.open(new PgClient(created.url));
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

test('ListObjects_delimiterSeeks (CockroachDB-compatible SQL on PostgreSQL): 5,000 keys under one prefix cost a handful of rows', () =>
  withDatabase('seek', async (url) => {
    const client = new CountingClient(url);
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
    }
  }));

test('Migration_upgrade (CockroachDB-compatible SQL on PostgreSQL): an object written under schema 1 is the null version after schema 2', () =>
  withDatabase('upgrade', async (url) => {
    const client = new PgClient(url);
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
    try {
      expect(await store.getObject('old', 'k')).toMatchObject({ id, versionId: 'null', isLatest: true, deleteMarker: false, tags: {}, userMetadata: { m: '1' } });
      expect(await store.getBucket('old')).not.toHaveProperty('versioning');
      await store.updateBucket('old', { versioning: 'Enabled' });
      await store.putObject({ bucket: 'old', key: 'k', id: crypto.randomUUID(), tags: {}, size: 1, etag: '"n"', owner: 'o', headers: {}, userMetadata: {}, checksums: {}, inline: Buffer.from('x'), chunks: [] });
      expect(await store.getChunks(id, 0, 9)).toHaveLength(2); // the old object lives on as the null version
      expect((await store.getObject('old', 'k', 'null')).isLatest).toBe(false);
    } finally {
      await store.close();
    }
  }));

test('Migrations_concurrentGateways (CockroachDB-compatible SQL on PostgreSQL): four gateways opening one new database at once all start, the schema is made once', () =>
  withDatabase('race', async (url) => {
    const clients = [1, 2, 3, 4].map(() => new PgClient(url, 2));
    try {
      const stores = await Promise.all(clients.map((c) => SqlMetadataStore.open(c)));
      const check = clients[0];
      expect((await check.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version))).toEqual(MIGRATIONS.map((_, i) => i + 1));
      expect(await check.query('SELECT * FROM schema_leases')).toEqual([]); // released
      await stores[1].createBucket({ name: 'after-race', owner: 'o', region: 'us-east-1' });
      expect(await stores[3].getBucket('after-race')).toBeDefined();
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }));

test('Migrations_leaseHeld (CockroachDB-compatible SQL on PostgreSQL): a gateway waits while another holds the migrations lease', () =>
  withDatabase('lease', async (url) => {
    const client = new PgClient(url, 2);
    try {
      // Another gateway is migrating: it holds an unexpired lease.
      await client.exec('CREATE TABLE schema_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL)');
      await client.query(`INSERT INTO schema_leases VALUES ('migrations', 'other', now() + INTERVAL '1 minute')`);
      let opened = false;
      const opening = SqlMetadataStore.open(client).then((s) => ((opened = true), s));
      await new Promise((r) => setTimeout(r, 500));
      expect(opened).toBe(false);
      expect(await client.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'buckets'`)).toEqual([]);
      // The holder goes away (its lease released, or expired): the waiting gateway migrates.
      await client.query(`UPDATE schema_leases SET expires = now() - INTERVAL '1 second'`);
      const store = await opening;
      await store.createBucket({ name: 'b', owner: 'o', region: 'us-east-1' });
      expect(await client.query('SELECT holder FROM schema_leases')).toEqual([]);
    } finally {
      await client.close();
    }
  }));
