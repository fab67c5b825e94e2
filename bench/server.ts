import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Credentials } from './sigv4';

/**
 * rfs as `npm start` runs it (the compiled gateway/main.js), in its own process so that its
 * CPU time and memory are its own, on an ephemeral port and a data dir of the caller's.
 */

export interface BenchServer {
  url: string;
  pid: number;
  /** The command line that started it, for the report. */
  command: string;
  /** What the server printed after it started listening (warnings and errors; the level is warn). */
  laterOutput(): string;
  /** SIGKILL, synchronously (for an exit handler). */
  kill(): void;
  /** SIGTERM, then waits for the exit (SIGKILL after 30 s). Resolves with the exit code or signal. */
  stop(): Promise<number | string>;
}

const OUTPUT_TAIL_CHARS = 64 * 1024;

export async function startServer(dataDir: string, root: Credentials, env: Record<string, string> = {}): Promise<BenchServer> {
  const main = path.resolve(__dirname, '..', 'gateway', 'main.js');
  const child = spawn(process.execPath, [main], {
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
  let listening = false;
  const keep = (d: Buffer) => {
    if (listening) later = (later + d.toString()).slice(-OUTPUT_TAIL_CHARS);
    else startup += d.toString();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
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

  return {
    url,
    pid: child.pid!,
    command: `${path.basename(process.execPath)} ${path.relative(process.cwd(), main) || main}`,
    laterOutput: () => later,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}
