import { Client } from 'pg';
import { describeMetadataStore } from './store.contract';
import { PgClient } from './pg-client';
import { SqlMetadataStore } from './sql-store';

/** The same contract on a real PostgreSQL server, CockroachDB's stand-in: every statement
 * SqlMetadataStore sends is in the dialect CockroachDB accepts. */
const ADMIN_URL = process.env.RFS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const db = `rfs_test_${process.pid}`;

afterAll(async () => {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
});

describeMetadataStore('PostgreSQL (CockroachDB-compatible SQL)', async () => {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  return SqlMetadataStore.open(new PgClient(ADMIN_URL.replace(/\/[^/]*$/, `/${db}`)));
});
