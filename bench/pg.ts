import path from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { embeddedConnection } from '../metadata/embedded-postgres';

/**
 * The bench's own connections to a server's PostgreSQL, outside the timed windows: the
 * embedded one through its unix socket in `<dataDir>/meta` (the bench runs as root or as the
 * server's account, so the 0700 folder is open to it), or a PostgreSQL server by URL. For
 * transaction counts (pg_stat_database), bulk-loading listing rows, and a database of the
 * bench's own on the machine's PostgreSQL.
 */

/** The embedded PostgreSQL of a server on `dataDir` (the bench's data dirs are short enough
 * for the socket to live in `meta/`). */
export function embeddedDatabase(dataDir: string): ClientConfig {
  return embeddedConnection(path.join(dataDir, 'meta'));
}

/** Runs `fn` on a fresh connection, closed afterwards (an idle backend of the bench would
 * count in the server's process tree). */
export async function withDatabase<T>(config: ClientConfig | string, fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client(typeof config === 'string' ? { connectionString: config } : config);
  db.on('error', () => undefined);
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end().catch(() => undefined);
  }
}

export interface XactCounts {
  commits: number;
  rollbacks: number;
}

/** How long a backend may keep its counts to itself: PostgreSQL's PGSTAT_IDLE_INTERVAL (an
 * idle backend that could not report within PGSTAT_MIN_INTERVAL, 1 s, reports 10 s later). */
const STATS_DELAY_MS = 10_500;

/** Committed and rolled-back transactions of the connection's database so far. Backends
 * report their counts late (STATS_DELAY_MS): the read waits that out first. */
export async function xactCounts(config: ClientConfig | string): Promise<XactCounts> {
  await new Promise((r) => setTimeout(r, STATS_DELAY_MS));
  return withDatabase(config, async (db) => {
    const { rows } = await db.query<{ c: string; r: string }>(
      'SELECT xact_commit AS c, xact_rollback AS r FROM pg_stat_database WHERE datname = current_database()',
    );
    return { commits: Number(rows[0].c), rollbacks: Number(rows[0].r) };
  });
}

/**
 * `count` current-version rows straight into `objects` (keys `<prefix><9-digit i>`), as
 * metadata/pg-store.test.ts does: the listing, not the loading, is under measure. The bucket
 * must exist (its owner is copied). Rows carry no data, so they can be listed, not read.
 * With `agedEvery`, every row whose number is a multiple of it was last modified 30 days ago
 * (what a lifecycle rule finds due); the others now.
 */
export async function bulkLoadKeys(db: Client, bucket: string, prefix: string, count: number, agedEvery = 0): Promise<void> {
  const BATCH = 250_000;
  for (let from = 1; from <= count; from += BATCH) {
    await db.query(
      `INSERT INTO objects (bucket, key, version_id, size, etag, last_modified, owner, headers, user_meta, checksums)
       SELECT $1, convert_to($2 || lpad(i::TEXT, 9, '0'), 'UTF8'), gen_random_uuid(), 4096, '"0f343b0931126a20f133d67c2b018a3b"',
              CASE WHEN $5::INT8 > 0 AND i % $5::INT8 = 0 THEN now() - INTERVAL '30 days' ELSE now() END,
              (SELECT owner FROM buckets WHERE name = $1), '{}', '{}', '{}'
         FROM generate_series($3::INT8, $4::INT8) AS i`,
      [bucket, prefix, from, Math.min(count, from + BATCH - 1), agedEvery],
    );
  }
  await db.query('ANALYZE objects');
}

/** Server processes (backends) connected to a database now: their pids. */
export async function backendPids(adminUrl: string, database: string): Promise<number[]> {
  return withDatabase(adminUrl, async (db) => {
    const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    return rows.map((r) => r.pid);
  });
}
