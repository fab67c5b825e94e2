import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Writes a data dir as the rfs before the supervised PostgreSQL left it (PGlite in
 * `<data>/meta`), in a child process: PGlite cannot load inside Jest's VM. */
export async function writeOldDataDir(data: string): Promise<{ first: string; second: string; body: string }> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'pglite-upgrade.fixture.ts'), data], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`fixture failed: ${err}`);
  return JSON.parse(out) as { first: string; second: string; body: string };
}
