/**
 * The few things SqlMetadataStore needs from a database driver: PGlite, pg (PostgreSQL,
 * CockroachDB). Statements are written once, in the dialect all three accept.
 */
export interface SqlClient {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` in one transaction; the caller retries it on serialization failure. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  exec(text: string): Promise<void>;
  close(): Promise<void>;
}

export type SqlQueryable = Pick<SqlClient, 'query'>;

const SERIALIZATION_FAILURE = '40001';

/** Runs a transaction, retrying the serialization failures (SQLSTATE 40001) that
 * CockroachDB returns under contention, with jittered backoff. */
export async function inTransaction<T>(db: SqlClient, fn: (tx: SqlQueryable) => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (e) {
      if ((e as { code?: string }).code !== SERIALIZATION_FAILURE || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * 2 ** attempt));
    }
  }
}
