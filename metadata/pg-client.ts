import { createHash } from 'node:crypto';
import { Pool, type PoolConfig, type QueryConfig } from 'pg';
import { type SqlClient, type SqlQueryable, MetadataUnavailable } from './sql';

/**
 * SqlClient on a PostgreSQL-wire server: the embedded PostgreSQL, a PostgreSQL server, or
 * CockroachDB. Transactions are SERIALIZABLE, CockroachDB's only real level, so PostgreSQL
 * behaves the same way: conflicting writers get 40001 and inTransaction retries them. A
 * database that cannot be reached fails calls with MetadataUnavailable (S3's 503), never a
 * hang: connecting and each statement have a deadline, and the pool reconnects by itself once
 * the database is back.
 */
export class PgClient implements SqlClient {
  private readonly pool: Pool;

  constructor(connection: string | PoolConfig, max = 16) {
    this.pool = new Pool({
      ...(typeof connection === 'string' ? { connectionString: connection } : connection),
      max,
      connectionTimeoutMillis: 5000,
      query_timeout: 60_000,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
    });
    // An idle pooled connection that the server ends (a restart, an administrator) is
    // reported here; the pool has already dropped it and the next query opens a new one.
    // Without a listener the 'error' event would take the whole process down.
    this.pool.on('error', () => undefined);
  }

  async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query(statement(text, params))).rows as T[];
    } catch (e) {
      throw unavailable(e);
    }
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const conn = await this.pool.connect().catch((e: unknown) => Promise.reject(unavailable(e)));
    let broken = false;
    try {
      await conn.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      const result = await fn({ query: async <R>(text: string, params?: unknown[]) => (await conn.query(statement(text, params))).rows as R[] });
      await conn.query('COMMIT');
      return result;
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => (broken = true));
      throw unavailable(e);
    } finally {
      // A connection that failed mid-transaction is discarded, not reused.
      conn.release(broken || undefined);
    }
  }

  async exec(text: string): Promise<void> {
    await this.query(text);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Statements with parameters at most this many are prepared: every statement rfs sends is one
 * of a few dozen texts, but a multi-row VALUES list makes one text per row count. */
const MAX_PREPARED_PARAMS = 32;
const names = new Map<string, string>();

/**
 * The statement as pg sends it: named, so each connection parses and plans it once and then
 * only binds and executes it (measured here: 2× the point lookups per second, a third less
 * driver CPU). Statements without parameters (schema changes) and long VALUES lists go
 * unnamed, so what a connection keeps prepared stays bounded.
 */
function statement(text: string, values?: unknown[]): QueryConfig {
  if (!values || values.length === 0 || values.length > MAX_PREPARED_PARAMS) return { text, values };
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `rfs_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`));
  return { name, text, values };
}

/** SQLSTATE classes and driver errors that mean "the database is not there right now". */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

function unavailable(e: unknown): unknown {
  const err = e as { code?: string; message?: string };
  const down =
    (err.code !== undefined && (UNAVAILABLE_CODES.has(err.code) || err.code.startsWith('08'))) ||
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error/.test(err.message ?? '');
  return down ? new MetadataUnavailable(err.message ?? String(e)) : e;
}
