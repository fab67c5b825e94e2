/**
 * The few things SqlMetadataStore needs from a database driver (pg, on the embedded
 * PostgreSQL, a PostgreSQL server or CockroachDB). Statements are written once, in the
 * dialect both PostgreSQL and CockroachDB accept (metadata/README.md).
 */
export interface SqlClient {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` in one transaction; the caller retries it on serialization failure. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  exec(text: string): Promise<void>;
  close(): Promise<void>;
}

export type SqlQueryable = Pick<SqlClient, 'query'>;

/** The database cannot be reached right now (down, restarting, network cut): S3's 503, which
 * clients retry. Whether a write that failed this way committed is unknown to the caller, as
 * with any cut connection; nothing that was acknowledged is affected. */
export class MetadataUnavailable extends Error {
  constructor(detail: string) {
    super(`metadata database unavailable: ${detail}`);
    this.name = 'MetadataUnavailable';
  }
}

export const SERIALIZATION_FAILURE = '40001';

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
