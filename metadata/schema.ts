import type { SqlClient } from './sql';

/**
 * The schema, as an ordered list of migrations. Every statement runs unchanged on
 * CockroachDB, PostgreSQL and PGlite: natural or UUID keys (no sequences), no triggers,
 * no stored procedures. Object keys are BYTEA so they compare as bytes, which is S3's
 * UTF-8 binary order, whatever the database's locale.
 */
export const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS buckets (
     name TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     region TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE IF NOT EXISTS objects (
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
   );
   CREATE TABLE IF NOT EXISTS chunk_refs (
     owner UUID NOT NULL,
     pos INT8 NOT NULL,
     address TEXT NOT NULL,
     size INT8 NOT NULL,
     PRIMARY KEY (owner, pos)
   );
   CREATE INDEX IF NOT EXISTS chunk_refs_by_address ON chunk_refs (address);
   CREATE TABLE IF NOT EXISTS access_keys (
     access_key_id TEXT PRIMARY KEY,
     secret_key TEXT NOT NULL,
     owner TEXT NOT NULL,
     display_name TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );`,
];

/** Applies the migrations not applied yet. Idempotent; safe to run at every start. */
export async function migrate(db: SqlClient): Promise<void> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT8 PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`);
  const done = new Set(
    (await db.query<{ version: string | number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)),
  );
  for (const [i, sql] of MIGRATIONS.entries()) {
    const version = i + 1;
    if (done.has(version)) continue;
    await db.exec(sql);
    await db.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING', [version]);
  }
}
