import { spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { EmbeddedPostgres, ENGINE_MARKER, type EmbeddedPostgresOptions } from './embedded-postgres';
import { PgClient } from './pg-client';
import { migrate } from './schema';
import { UPGRADED_TABLES } from './pglite-tables';
import { workerEntry } from './worker-file';

/** Written into the new data dir once every row is copied: the upgrade is then complete. */
const UPGRADED_MARKER = 'rfs-upgraded-from-pglite';
const BATCH_ROWS = 500;

/**
 * Brings `metaDir` to the supervised PostgreSQL when an earlier rfs left PGlite's files there:
 * a new cluster is made beside it (`<meta>.upgrade`), every row is copied over, the counts are
 * checked, and only then are the folders swapped. The PGlite files stay in `<meta>-pglite`
 * until the user removes them. Interrupted at any point, the next start resumes or redoes it;
 * the PGlite files are never written to.
 */
export async function upgradeFromPGlite(metaDir: string, options: Omit<EmbeddedPostgresOptions, 'dataDir'>): Promise<void> {
  const staging = `${metaDir}.upgrade`;
  if (!existsSync(metaDir) && existsSync(`${staging}/${UPGRADED_MARKER}`)) renameSync(staging, metaDir); // a swap cut short
  if (!existsSync(`${metaDir}/PG_VERSION`) || existsSync(`${metaDir}/${ENGINE_MARKER}`)) return;

  options.log?.info({ metaDir }, 'upgrading the metadata from PGlite to the embedded PostgreSQL');
  rmSync(staging, { recursive: true, force: true });
  const pg = await EmbeddedPostgres.start({ ...options, dataDir: staging });
  const db = new PgClient(pg.connection, 2);
  try {
    await migrate(db);
    const copied = await copyRows(metaDir, db);
    for (const table of UPGRADED_TABLES) {
      const [{ n }] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      if (Number(n) !== (copied.get(table) ?? 0)) throw new Error(`upgrade from PGlite: ${table} has ${n} rows, ${copied.get(table) ?? 0} were read`);
    }
    options.log?.info({ rows: Object.fromEntries(copied) }, 'metadata copied from PGlite');
  } finally {
    await db.close();
    await pg.stop();
  }
  writeFileSync(`${staging}/${UPGRADED_MARKER}`, `${new Date().toISOString()}\n`);
  renameSync(metaDir, freeName(`${metaDir}-pglite`));
  renameSync(staging, metaDir);
}

/** Streams the PGlite rows from a child process into the new database, in batches. */
async function copyRows(pgliteDir: string, db: PgClient): Promise<Map<string, number>> {
  const entry = workerEntry(__dirname, 'pglite-export');
  const child = spawn(process.execPath, [...entry.execArgv, entry.file, pgliteDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const counts = new Map<string, number>();
  let batch: { table: string; rows: unknown[] } | undefined;
  const flush = async () => {
    if (!batch || batch.rows.length === 0) return;
    const columns = Object.keys(batch.rows[0] as object).map((c) => `"${c.replace(/"/g, '""')}"`).join(', ');
    // Only the columns the old table had: columns added since take their defaults.
    await db.query(`INSERT INTO ${batch.table} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${batch.table}, $1::JSON)`, [JSON.stringify(batch.rows)]);
    counts.set(batch.table, (counts.get(batch.table) ?? 0) + batch.rows.length);
    batch.rows = [];
  };
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const { t, r } = JSON.parse(line) as { t: string; r: unknown };
      if (batch?.table !== t) {
        await flush();
        batch = { table: t, rows: [] };
      }
      batch.rows.push(r);
      if (batch.rows.length >= BATCH_ROWS) await flush();
    }
    await flush();
  } catch (e) {
    child.kill();
    throw e;
  }
  const code = await exited;
  if (code !== 0) throw new Error(`reading the PGlite metadata in ${pgliteDir} failed:\n${stderr.trim()}`);
  return counts;
}

function freeName(base: string): string {
  if (!existsSync(base)) return base;
  for (let i = 2; ; i++) if (!existsSync(`${base}.${i}`)) return `${base}.${i}`;
}
