/** Test fixture, run as a child process by embedded-postgres.test.ts: starts the embedded
 * PostgreSQL on a data dir, prints "ready", and waits to be killed (-9, leaving an orphan). */
import { EmbeddedPostgres } from './embedded-postgres';

EmbeddedPostgres.start({ dataDir: process.argv[2] }).then(
  () => {
    process.stdout.write('ready\n');
    setInterval(() => undefined, 60_000);
  },
  (e) => {
    process.stderr.write(String(e));
    process.exit(1);
  },
);
