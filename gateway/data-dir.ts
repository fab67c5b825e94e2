import { mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { processAlive } from '../metadata/embedded-postgres';

/**
 * An exclusive lock on the data directory: one rfs per data dir (its root credentials, its
 * embedded PostgreSQL, which would refuse a second server anyway). The lock file holds the
 * owner's pid; a lock left by a process that no longer runs (kill -9, power cut) is taken over.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && processAlive(pid)) {
        throw new Error(`data directory ${dir} is in use by process ${pid}`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock data directory ${dir}`);
}

export interface RootCredentials {
  accessKeyId: string;
  secretKey: string;
}

/** The root key pair: from the environment when given, else generated on first start and
 * kept in `<dataDir>/root-credentials.json` (mode 0600) so it survives restarts. */
export function rootCredentials(dir: string, fromEnv?: RootCredentials): RootCredentials {
  if (fromEnv) return fromEnv;
  const file = path.join(dir, 'root-credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as RootCredentials;
  const creds: RootCredentials = {
    accessKeyId: `RFS${randomBytes(10).toString('hex').toUpperCase().slice(0, 17)}`,
    secretKey: randomBytes(30).toString('base64').replace(/[+/=]/g, '').slice(0, 40),
  };
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return creds;
}
