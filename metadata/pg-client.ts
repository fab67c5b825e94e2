import { Pool } from 'pg';
import type { SqlClient, SqlQueryable } from './sql';

/**
 * SqlClient on a PostgreSQL-wire server: CockroachDB in production, PostgreSQL in tests.
 * Transactions are SERIALIZABLE, CockroachDB's only real level, so PostgreSQL behaves the
 * same way: conflicting writers get 40001 and inTransaction retries them.
 */
export class PgClient implements SqlClient {
  private readonly pool: Pool;

  constructor(connectionString: string, max = 16) {
    this.pool = new Pool({ connectionString, max });
    // An idle pooled connection that the server ends (a restart, an administrator) is
    // reported here; the pool has already dropped it and the next query opens a new one.
    // Without a listener the 'error' event would take the whole process down.
    this.pool.on('error', () => undefined);
  }

  async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    return (await this.pool.query(text, params)).rows as T[];
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const conn = await this.pool.connect();
    try {
      await conn.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      const result = await fn({ query: async <R>(text: string, params?: unknown[]) => (await conn.query(text, params)).rows as R[] });
      await conn.query('COMMIT');
      return result;
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      conn.release();
    }
  }

  async exec(text: string): Promise<void> {
    await this.pool.query(text);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
