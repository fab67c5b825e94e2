import { Client } from 'pg';

/** The PostgreSQL server the tests share (CockroachDB's stand-in): trust auth on 127.0.0.1. */
export const TEST_PG_URL = process.env.RFS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of the caller's own on the shared server (never the server itself restarted):
 * its URL, and `drop()` for afterwards, which ends other sessions on it. */
export async function createTestDatabase(name: string): Promise<{ url: string; drop(): Promise<void> }> {
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** `fn` on a database of its own, dropped afterwards whatever happens. */
export async function withTestDatabase(name: string, fn: (url: string) => Promise<void>): Promise<void> {
  const db = await createTestDatabase(name);
  try {
    await fn(db.url);
  } finally {
    await db.drop();
  }
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
