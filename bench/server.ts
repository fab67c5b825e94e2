import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import type { Credentials } from './sigv4';
import { processTree, readStat, type ProcStat } from './proc';

/**
 * rfs as `npm start` runs it (the compiled gateway/main.js), in its own process so that its
 * CPU time and memory are its own (with its embedded PostgreSQL's: see proc.ts), on an
 * ephemeral port and a data dir of the caller's. Stopping it stops the whole tree: rfs stops
 * its PostgreSQL on SIGTERM, and any process of the tree still alive after rfs exits (or
 * every one, on `kill()`) is SIGKILLed, so the bench never leaves a postmaster behind.
 */

export interface BenchServer {
  url: string;
  pid: number;
  dataDir: string;
  /** The command line that started it, for the report. */
  command: string;
  /** What the server printed after it started listening (warnings and errors; the level is
   * warn): the last 64 KiB. */
  laterOutput(): string;
  /** Every line printed after it started listening, grouped by kind (level, message, error), most frequent first. */
  logSummary(limit?: number): string[];
  /** SIGKILL to the whole tree, synchronously (for an exit handler). */
  kill(): void;
  /** SIGTERM, then waits for the exit (SIGKILL after 30 s), then SIGKILLs whatever of its tree
   * is left. Resolves with the exit code or signal (and the leftovers it had to kill). */
  stop(): Promise<number | string>;
}

const OUTPUT_TAIL_CHARS = 64 * 1024;

/** Starts a compiled rfs program (`script`, under dist/: the gateway by default, or the storage
 * node) and waits for its "listening on" line. */
export async function startServer(
  dataDir: string,
  root: Credentials,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  script = 'gateway/main.js',
): Promise<BenchServer> {
  grantSearch(dataDir);
  const main = path.resolve(__dirname, '..', script);
  const child = spawn(process.execPath, [...nodeArgs, main], {
    cwd: path.resolve(__dirname, '..', '..'),
    env: {
      ...process.env,
      RFS_HOST: '127.0.0.1',
      RFS_PORT: '0',
      RFS_DATA_DIR: dataDir,
      RFS_ROOT_ACCESS_KEY: root.accessKeyId,
      RFS_ROOT_SECRET_KEY: root.secretKey,
      RFS_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));

  // Keep draining both pipes for the server's whole life: a full pipe would block its logger.
  let startup = '';
  let later = '';
  let partial = '';
  const groups = new Map<string, number>();
  let listening = false;
  const keep = (d: Buffer) => {
    if (!listening) {
      startup += d.toString();
      return;
    }
    later = (later + d.toString()).slice(-OUTPUT_TAIL_CHARS);
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) groups.set(logKind(line), (groups.get(logKind(line)) ?? 0) + 1);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      for (const p of processTree(child.pid!)) process.kill(p.pid, 'SIGKILL');
      reject(new Error(`rfs did not start within 60 s:\n${startup}`));
    }, 60_000);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(startup);
      if (m && !listening) {
        listening = true;
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`rfs exited (${code}) before listening:\n${startup}`));
    });
  });

  const pid = child.pid!;
  const running = () => child.exitCode === null && child.signalCode === null;
  // The tree as last seen while rfs ran: once rfs is gone, its children are reparented and
  // can no longer be found from its pid.
  let known: ProcStat[] = [];
  const remember = () => {
    if (running()) known = processTree(pid);
  };
  const killKnown = (): number[] => {
    const left: number[] = [];
    for (const p of known) {
      if (readStat(p.pid)?.comm !== p.comm) continue; // gone (or its pid reused)
      try {
        process.kill(p.pid, 'SIGKILL');
        if (p.pid !== pid) left.push(p.pid);
      } catch {
        // already gone
      }
    }
    return left;
  };
  const server: BenchServer = {
    url,
    pid,
    dataDir,
    command: [path.basename(process.execPath), ...nodeArgs, path.relative(process.cwd(), main) || main].join(' '),
    laterOutput: () => later,
    logSummary: (limit = 8) => summarise(groups, limit),
    kill() {
      live.delete(server);
      remember();
      killKnown();
    },
    async stop() {
      live.delete(server);
      if (running()) {
        remember();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const result = await exited;
        clearTimeout(timer);
        const left = killKnown();
        return left.length ? `${result}; killed ${left.length} leftover process(es) of its tree: ${left.join(' ')}` : result;
      }
      return exited;
    },
  };
  live.add(server);
  return server;
}

/** Every server started and not yet stopped, wherever in the bench: an interrupted bench
 * (Ctrl-C, a failure) stops them all, not only the one its main phase holds. */
const live = new Set<BenchServer>();
/** Other things to undo on an interrupt (a database, a Redis db, a child process). */
const undo = new Set<() => Promise<unknown> | void>();

/** Registers `fn` to run if the bench is interrupted; returns its unregistration. */
export function onInterrupt(fn: () => Promise<unknown> | void): () => void {
  undo.add(fn);
  return () => undo.delete(fn);
}

/** Stops every live server (SIGTERM, then SIGKILL of what is left of its tree) and runs every
 * registered undo, newest first. */
export async function interruptAll(): Promise<void> {
  // Taken first: stopping the servers fails the phase in progress, whose own cleanup then
  // unregisters its undo while the process is about to exit under it.
  const pending = [...undo].reverse();
  undo.clear();
  await Promise.all([...live].map((s) => s.stop().catch(() => undefined)));
  for (const fn of pending) {
    await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
  }
}

/** SIGKILLs every live server's tree, synchronously (for an exit handler). */
export function killAll(): void {
  for (const s of [...live]) s.kill();
}

/**
 * Run as root, rfs starts its embedded PostgreSQL as an unprivileged account (`nobody`), which
 * must reach `<dataDir>/meta`: the bench's own temp folders (mkdtemp makes them 0700) get
 * search permission for others (o+x, no read), the folders above them are left alone.
 */
function grantSearch(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true });
  const tmp = path.resolve(os.tmpdir());
  for (let dir = path.resolve(dataDir); dir.startsWith(tmp + path.sep); dir = path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
  }
}

/** A log line's kind: level, message and error (pino JSON), or the line itself. */
function logKind(line: string): string {
  try {
    const j = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; code?: string }; postgres?: string };
    const level = j.level === 40 ? 'WARN' : j.level === 50 ? 'ERROR' : j.level === 60 ? 'FATAL' : String(j.level);
    const err = j.err ? `: ${j.err.code ? `[${j.err.code}] ` : ''}${j.err.message ?? ''}` : '';
    return `${level} ${j.msg ?? ''}${err}${j.postgres ? `: ${j.postgres}` : ''}`.slice(0, 220);
  } catch {
    return line.slice(0, 220);
  }
}

/** Kinds of log line, most frequent first, so a thousand retried conflicts read as one line. */
function summarise(groups: Map<string, number>, limit: number): string[] {
  const sorted = [...groups].sort((a, b) => b[1] - a[1]);
  const lines = sorted.slice(0, limit).map(([text, n]) => `${String(n).padStart(6)} × ${text}`);
  if (sorted.length > limit) lines.push(`       (${sorted.length - limit} more kinds)`);
  return lines;
}
