import { EmbeddedPostgres, type SupervisorLog } from './embedded-postgres';
import { upgradeFromPGlite } from './pglite-upgrade';
import { PgClient } from './pg-client';
import { SqlMetadataStore } from './sql-store';
import type { MetadataStore } from './store';

export interface MetadataOptions {
  /** A PostgreSQL or CockroachDB URL; unset: the embedded PostgreSQL in `metaDir`. */
  url?: string;
  metaDir: string;
  /** Account for the embedded PostgreSQL when rfs runs as root. */
  runAs?: string;
  poolSize?: number;
  log?: SupervisorLog;
}

/**
 * The metadata store, from configuration: the same SqlMetadataStore over the same `pg` pool
 * whichever PostgreSQL it talks to. Embedded, rfs starts (and upgrades from PGlite, once)
 * its own PostgreSQL, and closing the store stops it after the pool has drained.
 */
export async function openMetadata(options: MetadataOptions): Promise<MetadataStore> {
  if (options.url) return SqlMetadataStore.open(new PgClient(options.url, options.poolSize));
  await upgradeFromPGlite(options.metaDir, options);
  const pg = await EmbeddedPostgres.start({ dataDir: options.metaDir, runAs: options.runAs, log: options.log });
  const client = new (class extends PgClient {
    override async close(): Promise<void> {
      await super.close();
      await pg.stop();
    }
  })(pg.connection, options.poolSize);
  try {
    return await SqlMetadataStore.open(client);
  } catch (e) {
    await client.close();
    throw e;
  }
}
