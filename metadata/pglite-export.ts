/**
 * Reads every row of an rfs metadata database kept by PGlite (the embedded engine before the
 * supervised PostgreSQL) and writes it to stdout as JSON lines, `{"t": table, "r": row}`.
 * Run as a child process by pglite-upgrade.ts: PGlite holds hundreds of MB that it never
 * returns, so it never lives in the server. The PGlite files are opened, read and closed;
 * nothing is written to them.
 */
import { PGlite } from '@electric-sql/pglite';
import { UPGRADED_TABLES } from './pglite-tables';

async function main(dataDir: string): Promise<void> {
  const db = await PGlite.create(dataDir, { postgresqlconf: ['shared_buffers = 16MB'] });
  const present = new Set((await db.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`)).rows.map((r) => r.name));
  for (const table of UPGRADED_TABLES) {
    if (!present.has(table)) continue;
    await db.transaction(async (tx) => {
      await tx.query(`DECLARE rows CURSOR FOR SELECT row_to_json(t)::TEXT AS j FROM ${table} t`);
      for (;;) {
        const { rows } = await tx.query<{ j: string }>('FETCH 500 FROM rows');
        if (rows.length === 0) break;
        const text = rows.map((row) => `{"t":"${table}","r":${row.j}}\n`).join('');
        if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
      }
      await tx.query('CLOSE rows');
    });
  }
  await db.close();
}

main(process.argv[2]).then(
  () => process.stdout.end(() => process.exit(0)),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
