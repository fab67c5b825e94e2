import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable } from './sql';

/**
 * SqlClient on PGlite, the embedded default. PGlite runs every query on the thread that
 * owns it and serialises them, so it lives in a worker (see worker-store.ts); a small
 * shared_buffers keeps its memory bounded (FACTS.md: 165 MB RSS instead of 280 MB).
 */
export class PGliteClient implements SqlClient {
  private constructor(private readonly db: PGlite) {}

  static async open(dataDir: string): Promise<PGliteClient> {
    return new PGliteClient(await PGlite.create(dataDir, { postgresqlconf: ['shared_buffers = 16MB'] }));
  }

  async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    return (await this.db.query<T>(text, params)).rows;
  }

  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn({ query: async <R>(text: string, params?: unknown[]) => (await tx.query<R>(text, params)).rows }));
  }

  async exec(text: string): Promise<void> {
    await this.db.exec(text);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
