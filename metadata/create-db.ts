/**
 * Creates (initdb) and migrates a PGlite database, then exits. Run as a child process:
 * initdb leaves ~700 MB resident in the process that ran it, which PGlite never returns, so
 * the server does it in a process of its own and then opens the database fresh.
 */
import { PGliteClient } from './pglite-client';
import { migrate } from './schema';

async function main(dataDir: string): Promise<void> {
  const db = await PGliteClient.open(dataDir);
  await migrate(db);
  await db.close();
}

main(process.argv[2]).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
