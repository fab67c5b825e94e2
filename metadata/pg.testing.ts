import { Client } from 'pg';

/** The PostgreSQL server the tests share (CockroachDB's stand-in): trust auth on 127.0.0.1. */
export const TEST_PG_URL = process.env.RFS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of the caller's own on a shared server (which is never restarted; `adminUrl`
 * names any database the user may connect to): its URL, and `drop()` for afterwards. */
export async function createTestDatabase(name: string, adminUrl = TEST_PG_URL): Promise<{ url: string; drop(): Promise<void> }> {
  await admin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => dropTestDatabase(name, adminUrl) };
}

/** Drops a database made by createTestDatabase, ending other sessions on it. */
export function dropTestDatabase(name: string, adminUrl = TEST_PG_URL): Promise<void> {
  return admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
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

async function admin(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
