import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { postgresBinaries, type PostgresBinaries } from './postgres-binaries';

/** Enough of a logger for the supervisor (pino's shape). */
export interface SupervisorLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface EmbeddedPostgresOptions {
  /** PostgreSQL's data directory (rfs: `<data>/meta`). */
  dataDir: string;
  /** When rfs runs as root, PostgreSQL (which refuses root) runs as this account. */
  runAs?: string;
  log?: SupervisorLog;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

/** The superuser and database initdb creates; reached only through the private socket. */
const DB_USER = 'rfs';
const DB_NAME = 'postgres';
/** Marks a data dir that this supervisor initialised (an older rfs kept PGlite's files here). */
export const ENGINE_MARKER = 'rfs-engine';
/** A unix socket path longer than this fails (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;
const PORT = 5432;

/**
 * Server settings: durable (fsync and synchronous_commit on, checksummed pages), a unix socket
 * only, and small memory, since rfs shares the machine with it. Measured in FACTS.md.
 */
const SETTINGS: Record<string, string> = {
  listen_addresses: '',
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '32MB',
  max_connections: '50',
  work_mem: '4MB',
  maintenance_work_mem: '32MB',
  max_wal_size: '256MB',
  log_min_messages: 'warning',
  log_line_prefix: '',
  // Huge pages buy nothing for 32 MB of shared buffers.
  huge_pages: 'off',
};

/**
 * A real PostgreSQL that rfs runs and supervises in its own data dir: the embedded default's
 * metadata database. initdb on first start (UTF8, C locale, so collation never depends on the
 * machine), a unix socket inside the data dir and no TCP port, an orphan from a killed rfs
 * stopped before a fresh start, start and stop with timeouts, and PostgreSQL's own log lines
 * in every failure. The server runs in a process group of its own, so a Ctrl-C at the
 * terminal reaches rfs alone and rfs drains its requests before stopping the database.
 */
export class EmbeddedPostgres {
  private readonly recentLog: string[] = [];
  private ready = false;
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    /** Where the socket is: pg's `host`. */
    readonly socketDir: string,
    private readonly ownSocketDir: boolean,
    private readonly options: EmbeddedPostgresOptions,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      // A binary that cannot be run at all (missing, not executable) never exits: it fails.
      child.once('error', (e) => (this.recentLog.push(e.message), resolve()));
    });
    const keep = (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (!line.trim()) continue;
        this.recentLog.push(line);
        if (this.recentLog.length > 40) this.recentLog.shift();
        // Statement errors (a serialization failure that rfs retries) are rfs's to report;
        // the server's own failures are worth a line in rfs's log once it is up.
        if (this.ready && /^(FATAL|PANIC)/.test(line)) options.log?.warn({ postgres: line }, 'embedded PostgreSQL');
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Connection settings for `pg` (Client or Pool). */
  get connection(): ClientConfig {
    return embeddedConnection(this.socketDir);
  }

  /** Initialises the data dir when new, stops an orphan, starts the server and waits until it
   * accepts connections. */
  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const bin = postgresBinaries();
    const account = serverAccount(options.runAs);
    const dir = path.resolve(options.dataDir);
    if (!existsSync(path.join(dir, ENGINE_MARKER))) {
      if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} is not a data directory of rfs's embedded PostgreSQL`);
      await initdb(bin, dir, account);
    }
    await stopOrphan(dir, options.stopTimeoutMs ?? 15_000);

    const { socketDir, own } = socketDirFor(dir, account);
    const args = ['-D', dir, '-p', String(PORT), '-c', `unix_socket_directories=${socketDir}`];
    for (const [k, v] of Object.entries(SETTINGS)) args.push('-c', `${k}=${v}`);
    const child = spawn(bin.postgres, args, {
      ...account,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: postgresEnv(),
    });
    const pg = new EmbeddedPostgres(child, socketDir, own, options);
    try {
      await pg.waitUntilReady(options.startTimeoutMs ?? 60_000);
    } catch (e) {
      await pg.stop().catch(() => undefined);
      throw e;
    }
    options.log?.info({ dataDir: dir, pid: child.pid }, 'embedded PostgreSQL started');
    return pg;
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      if (exited) throw this.failure('exited while starting');
      const client = new Client({ ...this.connection, connectionTimeoutMillis: 2000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        this.ready = true;
        return;
      } catch {
        if (Date.now() > deadline) throw this.failure(`did not accept connections within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  private failure(what: string): Error {
    const log = this.recentLog.slice(-15).join('\n  ');
    return new Error(`the embedded PostgreSQL in ${this.options.dataDir} ${what}${log ? `:\n  ${log}` : ''}`);
  }

  /** Stops the server (see `shutDown`) and removes a socket folder of its own. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await shutDown(
        (signal) => this.child.kill(signal),
        (ms) => within(this.exited, ms),
        this.options.stopTimeoutMs ?? 15_000,
        (signal) => this.options.log?.warn({ signal }, 'embedded PostgreSQL did not stop in time; escalating'),
      );
    }
    if (this.ownSocketDir) rmSync(this.socketDir, { recursive: true, force: true });
  }
}

/**
 * Stops a postmaster: a fast shutdown first (open transactions roll back, a checkpoint is
 * written), then an immediate one, then SIGKILL, each stage given its time. Resolves whether
 * it is gone.
 */
async function shutDown(
  send: (signal: NodeJS.Signals) => void,
  goneWithin: (ms: number) => Promise<boolean>,
  fastMs: number,
  onSlow?: (signal: NodeJS.Signals) => void,
): Promise<boolean> {
  for (const [signal, ms] of [['SIGINT', fastMs], ['SIGQUIT', 5000], ['SIGKILL', 5000]] as const) {
    send(signal);
    if (await goneWithin(ms)) return true;
    onSlow?.(signal);
  }
  return false;
}

/** How to reach an embedded PostgreSQL whose socket is in `socketDir` (its data dir, unless
 * that path is too long for a socket), from this process or another one (the bench). */
export function embeddedConnection(socketDir: string): ClientConfig {
  return { host: socketDir, port: PORT, user: DB_USER, database: DB_NAME };
}

/** uid/gid to run PostgreSQL under: none as an ordinary user; as root, the given account
 * (`RFS_POSTGRES_USER`) or else `nobody`, which every Unix has and no program owns. */
export function serverAccount(runAs?: string): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const name = runAs || 'nobody';
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    if (uid === 0) throw new Error('it is root');
    return { uid, gid };
  } catch (e) {
    throw new Error(`rfs runs as root and PostgreSQL refuses to: it runs as account '${name}', which cannot be used (${(e as Error).message.split('\n')[0]}); set RFS_POSTGRES_USER to an existing unprivileged account`);
  }
}

/** Creates the cluster in a sibling folder and renames it into place, so an interrupted
 * initdb never leaves a half-made data dir behind. */
async function initdb(bin: PostgresBinaries, dir: string, account?: { uid: number; gid: number }): Promise<void> {
  const staging = `${dir}.init`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  mkdirSync(staging, { mode: 0o700 });
  if (account) {
    chownSync(staging, account.uid, account.gid);
    ensureTraversable(path.dirname(dir), account);
  }
  const args = ['-D', staging, '-U', DB_USER, '--encoding=UTF8', '--locale=C', '--auth=trust', '--data-checksums', '--no-instructions'];
  const child = spawn(bin.initdb, args, { ...account, stdio: ['ignore', 'pipe', 'pipe'], env: postgresEnv() });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`initdb of the embedded PostgreSQL in ${dir} failed:\n${output.trim()}`);
  writeFileSync(path.join(staging, ENGINE_MARKER), 'postgresql\n');
  renameSync(staging, dir); // replaces an empty folder, e.g. one a user made ahead
}

/**
 * A PostgreSQL still running on this data dir is an orphan of an rfs killed without a chance
 * to stop it (rfs's own lock on the data dir rules out a live owner). `postmaster.pid` names
 * it; it is stopped before a fresh start, which PostgreSQL would refuse otherwise.
 */
async function stopOrphan(dir: string, timeoutMs: number): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const [pidLine, dataLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (!pid || !processAlive(pid) || path.resolve(dataLine ?? '') !== dir || !isPostgres(pid)) return; // stale: PostgreSQL replaces it
  const goneWithin = async (ms: number) => {
    for (const deadline = Date.now() + ms; processAlive(pid) && Date.now() < deadline; ) await sleep(25);
    return !processAlive(pid);
  };
  if (!(await shutDown((signal) => process.kill(pid, signal), goneWithin, timeoutMs))) {
    throw new Error(`an orphaned PostgreSQL (pid ${pid}) on ${dir} could not be stopped`);
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return process.platform !== 'linux'; // no /proc: trust postmaster.pid's data dir line
  }
}

/** Whether a process runs (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The socket lives in the data dir (0700: only the server's account and root reach it, so
 * trust authentication is safe); a data dir whose path is too long for a socket gets a short
 * private folder under the system's temp dir instead. */
function socketDirFor(dir: string, account?: { uid: number; gid: number }): { socketDir: string; own: boolean } {
  if (`${dir}/.s.PGSQL.${PORT}.lock`.length <= MAX_SOCKET_PATH) return { socketDir: dir, own: false };
  const socketDir = mkdtempSync(path.join(tmpdir(), 'rfs-pg-'));
  chmodSync(socketDir, 0o700);
  if (account) chownSync(socketDir, account.uid, account.gid);
  return { socketDir, own: true };
}

/** PostgreSQL running as another account must reach its data dir: every folder above it must
 * grant that account search (x) permission. access(2) checks the whole path at once. */
function ensureTraversable(parent: string, account: { uid: number; gid: number }): void {
  try {
    execFileSync('test', ['-x', parent], { uid: account.uid, gid: account.gid });
  } catch {
    throw new Error(`PostgreSQL runs as uid ${account.uid} and cannot reach ${parent}: grant search permission on it and the folders above it (chmod o+x), or choose another RFS_DATA_DIR`);
  }
}

/** A fixed, minimal environment: the C locale, so initdb never depends on the caller's LANG. */
function postgresEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
}

/** Whether `promise` settles within `ms`; the timer never outlives the wait. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
