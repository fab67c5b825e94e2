import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh data dir under the temp dir. mkdtemp makes it 0700; under root the embedded
 * PostgreSQL runs as another account (README), which must be able to pass through it. */
export async function tempDataDir(prefix = 'test'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `rfs-${prefix}-`));
  await chmod(dir, 0o711);
  return dir;
}
