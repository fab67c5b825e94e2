import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../harness';
import { probeCommand, runCommand, runOk, tempDir, type Probe, type RunResult } from '../clients';

/**
 * The real `rclone` against an rfs server, with a config of its own (RCLONE_CONFIG points at
 * a temp file, so a developer's ~/.config/rclone never leaks in) naming one remote, `rfs:`.
 */
export const rcloneProbe = (): Probe => probeCommand('rclone', ['version']);

/** S3's multipart crossed on purpose: every file of 5 MiB or more goes up in 5 MiB parts. */
export const MULTIPART_FLAGS = ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M'];

/** No retries: a request rfs gets wrong must fail the command, not be retried into success. */
const COMMON_FLAGS = ['--retries', '1', '--low-level-retries', '1'];

export class Rclone {
  private constructor(
    readonly bin: string,
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(bin: string, endpoint: string): Promise<Rclone> {
    const dir = await tempDir('rclone-config');
    const config = path.join(dir, 'rclone.conf');
    await writeFile(
      config,
      [
        '[rfs]',
        'type = s3',
        'provider = Other',
        `endpoint = ${endpoint}`,
        `access_key_id = ${ROOT.accessKeyId}`,
        `secret_access_key = ${ROOT.secretKey}`,
        'force_path_style = true',
        'region = us-east-1',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await mkdir(path.join(dir, 'cache'));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RCLONE_') && !k.startsWith('AWS_')) env[k] = v;
    env.RCLONE_CONFIG = config;
    env.RCLONE_CACHE_DIR = path.join(dir, 'cache');
    return new Rclone(bin, dir, env);
  }

  run(args: string[]): Promise<RunResult> {
    return runCommand(this.bin, [...args, ...COMMON_FLAGS], { env: this.env, timeoutMs: 600_000 });
  }

  ok(args: string[]): Promise<string> {
    return runOk(this.bin, [...args, ...COMMON_FLAGS], { env: this.env, timeoutMs: 600_000 });
  }

  /** A long-running rclone (mount), its output kept (the last 64 KiB) for error messages. */
  spawn(args: string[]): { child: ChildProcess; log: () => string } {
    const child = spawn(this.bin, [...args, ...COMMON_FLAGS], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keep = (d: Buffer) => (log = (log + d.toString()).slice(-64 * 1024));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return { child, log: () => log };
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
