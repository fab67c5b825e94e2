import { rm, appendFile, stat, readFile } from 'node:fs/promises';
import { tempDataDir } from './temp-dir.testing';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { EmbeddedPostgres } from './embedded-postgres';

let root: string;
beforeAll(async () => {
  root = await tempDataDir('pg');
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function query(pg: EmbeddedPostgres, text: string): Promise<Record<string, unknown>[]> {
  const c = new Client(pg.connection);
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('EmbeddedPostgres_settings: UTF8 and C collation, a unix socket and no TCP port, durable commits, data kept across restarts', async () => {
  const dir = path.join(root, 'settings');
  let pg = await EmbeddedPostgres.start({ dataDir: dir });
  try {
    const [s] = await query(pg, `SELECT current_setting('listen_addresses') AS listen, current_setting('fsync') AS fsync,
      current_setting('synchronous_commit') AS sync, current_setting('data_checksums') AS checksums,
      pg_encoding_to_char(encoding) AS encoding, datcollate FROM pg_database WHERE datname = current_database()`);
    expect(s).toEqual({ listen: '', fsync: 'on', sync: 'on', checksums: 'on', encoding: 'UTF8', datcollate: 'C' });
    expect(pg.socketDir).toBe(dir);
    await query(pg, 'CREATE TABLE kept (v TEXT)');
    await query(pg, `INSERT INTO kept VALUES ('survives')`);
    const pid = Number((await readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    // Its own process group: a Ctrl-C at the terminal reaches rfs, which drains first.
    expect(Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)]).toString().trim())).toBe(pid);
    if (process.getuid?.() === 0) {
      // PostgreSQL refuses root: it runs as an unprivileged account, which owns the data dir.
      const uid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
      expect(uid).not.toBe(0);
      expect((await stat(dir)).uid).toBe(uid);
    }
  } finally {
    await pg.stop();
  }
  pg = await EmbeddedPostgres.start({ dataDir: dir });
  expect(await query(pg, 'SELECT v FROM kept')).toEqual([{ v: 'survives' }]);
  await pg.stop();
});

test('EmbeddedPostgres_orphan: a server left running by a killed rfs is stopped and the next start succeeds', async () => {
  const dir = path.join(root, 'orphan');
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'embedded-postgres.fixture.ts'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && resolve()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => reject(new Error(`fixture exited: ${out}`)));
  });
  child.removeAllListeners('exit');
  const orphan = Number((await readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  expect(alive(orphan)).toBe(true); // nothing stops PostgreSQL when its parent dies

  const pg = await EmbeddedPostgres.start({ dataDir: dir });
  try {
    expect(alive(orphan)).toBe(false);
    expect(await query(pg, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  } finally {
    await pg.stop();
  }
});

test('EmbeddedPostgres_startFailure: the error carries PostgreSQL\'s own log lines', async () => {
  const dir = path.join(root, 'broken');
  await (await EmbeddedPostgres.start({ dataDir: dir })).stop();
  await appendFile(path.join(dir, 'postgresql.conf'), '\nno_such_setting = 1\n');
  await expect(EmbeddedPostgres.start({ dataDir: dir })).rejects.toThrow(/unrecognized configuration parameter "no_such_setting"/);
});

test('EmbeddedPostgres_longPath: a data dir too long for a unix socket path gets a private socket folder', async () => {
  const dir = path.join(root, 'a'.repeat(60), 'b'.repeat(40), 'meta');
  const pg = await EmbeddedPostgres.start({ dataDir: dir });
  try {
    expect(pg.socketDir.startsWith(tmpdir())).toBe(true);
    expect(await query(pg, 'SELECT 2 AS two')).toEqual([{ two: 2 }]);
  } finally {
    await pg.stop();
  }
});

test('EmbeddedPostgres_notOurs: a folder that is not an rfs PostgreSQL data dir is refused, not overwritten', async () => {
  const dir = path.join(root, 'foreign');
  execFileSync('mkdir', ['-p', dir]);
  await appendFile(path.join(dir, 'notes.txt'), 'mine');
  await expect(EmbeddedPostgres.start({ dataDir: dir })).rejects.toThrow(/not a data directory/);
  expect(await readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
});
