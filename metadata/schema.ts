import { randomUUID } from 'node:crypto';
import type { SqlClient } from './sql';

/**
 * The schema, as an ordered list of migrations. Every statement runs unchanged on
 * CockroachDB and PostgreSQL: natural or UUID keys (no sequences), no triggers,
 * no stored procedures. Object keys are BYTEA so they compare as bytes, which is S3's
 * UTF-8 binary order, whatever the database's locale. Each statement runs on its own and is
 * idempotent (IF NOT EXISTS): CockroachDB restricts schema changes batched in one
 * transaction, and a migration interrupted halfway is simply run again.
 */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE IF NOT EXISTS buckets (
       name TEXT PRIMARY KEY,
       owner TEXT NOT NULL,
       region TEXT NOT NULL,
       created_at TIMESTAMPTZ NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE IF NOT EXISTS objects (
       bucket TEXT NOT NULL,
       key BYTEA NOT NULL,
       version_id UUID NOT NULL,
       size INT8 NOT NULL,
       etag TEXT NOT NULL,
       last_modified TIMESTAMPTZ NOT NULL,
       owner TEXT NOT NULL,
       headers JSONB NOT NULL,
       user_meta JSONB NOT NULL,
       checksums JSONB NOT NULL,
       inline_data BYTEA,
       PRIMARY KEY (bucket, key)
     )`,
    `CREATE TABLE IF NOT EXISTS chunk_refs (
       owner UUID NOT NULL,
       pos INT8 NOT NULL,
       address TEXT NOT NULL,
       size INT8 NOT NULL,
       PRIMARY KEY (owner, pos)
     )`,
    `CREATE INDEX IF NOT EXISTS chunk_refs_by_address ON chunk_refs (address)`,
    `CREATE TABLE IF NOT EXISTS access_keys (
       access_key_id TEXT PRIMARY KEY,
       secret_key TEXT NOT NULL,
       owner TEXT NOT NULL,
       display_name TEXT NOT NULL,
       created_at TIMESTAMPTZ NOT NULL DEFAULT now()
     )`,
  ],
  // Versioning, multipart uploads, tags, bucket settings. `objects` keeps one row per key,
  // the current version (a delete marker included); older versions move to object_versions,
  // ordered within a key by seq (higher is newer). A version's chunk_refs and object_parts
  // are owned by its id wherever its row lives, so moving a row never touches them.
  [
    `ALTER TABLE buckets ADD COLUMN IF NOT EXISTS versioning TEXT,
       ADD COLUMN IF NOT EXISTS cors JSONB, ADD COLUMN IF NOT EXISTS tags JSONB`,
    `ALTER TABLE objects ADD COLUMN IF NOT EXISTS null_version BOOL NOT NULL DEFAULT true,
       ADD COLUMN IF NOT EXISTS delete_marker BOOL NOT NULL DEFAULT false,
       ADD COLUMN IF NOT EXISTS tags JSONB NOT NULL DEFAULT '{}',
       ADD COLUMN IF NOT EXISTS checksum_type TEXT,
       ADD COLUMN IF NOT EXISTS part_count INT8`,
    `CREATE TABLE IF NOT EXISTS object_versions (
       bucket TEXT NOT NULL,
       key BYTEA NOT NULL,
       seq INT8 NOT NULL,
       version_id UUID NOT NULL,
       null_version BOOL NOT NULL,
       delete_marker BOOL NOT NULL,
       size INT8 NOT NULL,
       etag TEXT NOT NULL,
       last_modified TIMESTAMPTZ NOT NULL,
       owner TEXT NOT NULL,
       headers JSONB NOT NULL,
       user_meta JSONB NOT NULL,
       checksums JSONB NOT NULL,
       checksum_type TEXT,
       tags JSONB NOT NULL,
       part_count INT8,
       inline_data BYTEA,
       PRIMARY KEY (bucket, key, seq)
     )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS object_versions_by_id ON object_versions (bucket, key, version_id)`,
    `CREATE TABLE IF NOT EXISTS object_parts (
       owner UUID NOT NULL,
       part_number INT8 NOT NULL,
       pos INT8 NOT NULL,
       size INT8 NOT NULL,
       etag TEXT NOT NULL,
       checksums JSONB NOT NULL,
       PRIMARY KEY (owner, part_number)
     )`,
    `CREATE TABLE IF NOT EXISTS uploads (
       bucket TEXT NOT NULL,
       key BYTEA NOT NULL,
       upload_id UUID NOT NULL,
       owner TEXT NOT NULL,
       initiated TIMESTAMPTZ NOT NULL DEFAULT now(),
       headers JSONB NOT NULL,
       user_meta JSONB NOT NULL,
       tags JSONB NOT NULL,
       checksum_algorithm TEXT,
       checksum_type TEXT,
       PRIMARY KEY (bucket, key, upload_id)
     )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS uploads_by_id ON uploads (upload_id)`,
    `CREATE INDEX IF NOT EXISTS uploads_by_age ON uploads (initiated)`,
    `CREATE TABLE IF NOT EXISTS parts (
       upload_id UUID NOT NULL,
       part_number INT8 NOT NULL,
       id UUID NOT NULL,
       size INT8 NOT NULL,
       etag TEXT NOT NULL,
       checksums JSONB NOT NULL,
       last_modified TIMESTAMPTZ NOT NULL,
       PRIMARY KEY (upload_id, part_number)
     )`,
  ],
  // The storage-node tier (metadata/cluster-store.ts): membership, the queue of chunks missing
  // a replica, and the lease rows that keep each cluster job in one place at a time. Times
  // are the database's (now()), so nodes and gateways whose clocks differ agree on them.
  [
    `CREATE TABLE IF NOT EXISTS storage_nodes (
       id TEXT PRIMARY KEY,
       url TEXT NOT NULL,
       zone TEXT NOT NULL,
       capacity_bytes INT8 NOT NULL,
       free_bytes INT8 NOT NULL,
       state TEXT NOT NULL,
       last_seen TIMESTAMPTZ NOT NULL,
       joined_at TIMESTAMPTZ NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE IF NOT EXISTS chunk_repairs (
       address TEXT PRIMARY KEY,
       reason TEXT NOT NULL,
       queued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
       attempts INT8 NOT NULL DEFAULT 0,
       due TIMESTAMPTZ NOT NULL DEFAULT now()
     )`,
    `CREATE INDEX IF NOT EXISTS chunk_repairs_by_due ON chunk_repairs (due)`,
    `CREATE TABLE IF NOT EXISTS job_leases (
       name TEXT PRIMARY KEY,
       holder TEXT NOT NULL,
       expires TIMESTAMPTZ NOT NULL,
       started TIMESTAMPTZ NOT NULL,
       progress JSONB NOT NULL
     )`,
  ],
  // Identity and access (metadata/sql-iam.ts): bucket policies, ACLs and access settings;
  // users, their keys and named policies. A NULL acl is the owner alone (S3's `private`).
  // access_keys is reused for users' keys: `secret_key` holds the sealed secret, owner and
  // display_name are filled from the user; rows from before (user_name NULL, test-only root
  // keys with a plain secret) belong to no user and never authenticate.
  [
    `ALTER TABLE buckets ADD COLUMN IF NOT EXISTS policy TEXT, ADD COLUMN IF NOT EXISTS acl JSONB,
       ADD COLUMN IF NOT EXISTS ownership TEXT, ADD COLUMN IF NOT EXISTS public_access_block JSONB,
       ADD COLUMN IF NOT EXISTS quota_bytes INT8`,
    `ALTER TABLE objects ADD COLUMN IF NOT EXISTS acl JSONB`,
    `ALTER TABLE object_versions ADD COLUMN IF NOT EXISTS acl JSONB`,
    `ALTER TABLE uploads ADD COLUMN IF NOT EXISTS acl JSONB`,
    `CREATE TABLE IF NOT EXISTS users (
       name TEXT PRIMARY KEY,
       id TEXT UNIQUE NOT NULL,
       user_id TEXT NOT NULL,
       source TEXT NOT NULL,
       disabled BOOL NOT NULL DEFAULT false,
       policies JSONB NOT NULL,
       sessions_valid_after TIMESTAMPTZ NOT NULL DEFAULT now(),
       created_at TIMESTAMPTZ NOT NULL DEFAULT now()
     )`,
    `ALTER TABLE access_keys ADD COLUMN IF NOT EXISTS user_name TEXT,
       ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'Active'`,
    `CREATE INDEX IF NOT EXISTS access_keys_by_user ON access_keys (user_name)`,
    `CREATE TABLE IF NOT EXISTS iam_policies (
       name TEXT PRIMARY KEY,
       document TEXT NOT NULL,
       updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE IF NOT EXISTS iam_key_check (
       id TEXT PRIMARY KEY,
       sealed TEXT NOT NULL
     )`,
  ],
  // Lifecycle rules (gateway/s3/lifecycle.ts), kept with the bucket like its CORS rules.
  [`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS lifecycle JSONB`],
  // Object lock (metadata/sql-lock.ts): the bucket's configuration (NULL: lock not enabled),
  // and each version's retention and legal hold (NULL: never set), carried by version moves
  // and given at CreateMultipartUpload to the object an upload becomes.
  [
    `ALTER TABLE buckets ADD COLUMN IF NOT EXISTS object_lock JSONB`,
    `ALTER TABLE objects ADD COLUMN IF NOT EXISTS retention_mode TEXT, ADD COLUMN IF NOT EXISTS retain_until TIMESTAMPTZ,
       ADD COLUMN IF NOT EXISTS legal_hold BOOL`,
    `ALTER TABLE object_versions ADD COLUMN IF NOT EXISTS retention_mode TEXT, ADD COLUMN IF NOT EXISTS retain_until TIMESTAMPTZ,
       ADD COLUMN IF NOT EXISTS legal_hold BOOL`,
    `ALTER TABLE uploads ADD COLUMN IF NOT EXISTS retention_mode TEXT, ADD COLUMN IF NOT EXISTS retain_until TIMESTAMPTZ,
       ADD COLUMN IF NOT EXISTS legal_hold BOOL`,
  ],
];

/** How long a migrations lease lasts unless renewed: a gateway that died mid-migration holds
 * the others back no longer than this. */
const LEASE_SECONDS = 30;

/**
 * Applies the migrations not applied yet; safe to run at every start. Several gateways
 * starting at once on one database run them once: whoever takes the `migrations` lease row
 * migrates (renewing it between statements) while the others wait for it to finish. A lease
 * row rather than an advisory lock, which CockroachDB lacks.
 */
export async function migrate(db: SqlClient): Promise<void> {
  await bootstrap(db, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT8 PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`);
  await bootstrap(db, `CREATE TABLE IF NOT EXISTS schema_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
  )`);
  const holder = randomUUID();
  const take = () =>
    db.query(
      `INSERT INTO schema_leases (name, holder, expires) VALUES ('migrations', $1, now() + $2::INT8 * INTERVAL '1 second')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
       WHERE schema_leases.expires < now() OR schema_leases.holder = excluded.holder
       RETURNING holder`,
      [holder, LEASE_SECONDS],
    );
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    const pending = await pendingMigrations(db);
    if (pending.length === 0) return;
    if ((await take()).length === 0) {
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    try {
      // Read again under the lease: another gateway may have finished just before.
      for (const version of await pendingMigrations(db)) {
        for (const statement of MIGRATIONS[version - 1]) {
          if ((await take()).length === 0) throw new Error('lost the migrations lease');
          await db.exec(statement);
        }
        await db.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING', [version]);
      }
    } finally {
      await db.query(`DELETE FROM schema_leases WHERE name = 'migrations' AND holder = $1`, [holder]);
    }
  }
}

async function pendingMigrations(db: SqlClient): Promise<number[]> {
  const done = new Set((await db.query<{ version: string | number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
  return MIGRATIONS.map((_, i) => i + 1).filter((v) => !done.has(v));
}

/** CREATE TABLE IF NOT EXISTS from two sessions at once can still collide in PostgreSQL's
 * catalog (23505 unique violation, 42710 duplicate type, 42P07 duplicate table); the loser
 * tries again, finds the table made and carries on. */
async function bootstrap(db: SqlClient, statement: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.exec(statement);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (attempt >= 5 || !['23505', '42710', '42P07', '40001'].includes(code ?? '')) throw e;
      await new Promise((r) => setTimeout(r, 10 * attempt));
    }
  }
}
