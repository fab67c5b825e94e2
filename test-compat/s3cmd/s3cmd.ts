import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../harness';
import { runCommand, tempDir, type Probe, type RunResult } from '../clients';

/**
 * Runs the real `s3cmd` against an rfs server with a config file of our own (never
 * ~/.s3cfg): path-style (host_bucket without %(bucket)s), plain HTTP, SigV4.
 */
export class S3cmd {
  private constructor(
    private readonly bin: string,
    readonly dir: string,
    private readonly config: string,
  ) {}

  static async create(probe: Probe, endpoint: string): Promise<S3cmd> {
    const dir = await tempDir('s3cmd');
    const config = path.join(dir, 's3cfg');
    const host = new URL(endpoint).host;
    await writeFile(
      config,
      [
        '[default]',
        `access_key = ${ROOT.accessKeyId}`,
        `secret_key = ${ROOT.secretKey}`,
        `host_base = ${host}`,
        `host_bucket = ${host}`,
        'use_https = False',
        'signature_v2 = False',
        'bucket_location = us-east-1',
        'progress_meter = False',
        '',
      ].join('\n'),
    );
    return new S3cmd(probe.bin!, dir, config);
  }

  /** `s3cmd -c <config> <args...>`, resolving with the exit code whatever it is. */
  run(args: string[]): Promise<RunResult> {
    const env: NodeJS.ProcessEnv = { PYTHONIOENCODING: 'utf-8' };
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('S3CMD')) env[k] = v;
    return runCommand(this.bin, ['-c', this.config, ...args], { env: { ...env, HOME: this.dir }, cwd: this.dir });
  }

  /**
   * Requires exit 0 and no retry: s3cmd retries a failed request 5 times (not configurable
   * in 2.x) and then succeeds silently, so a "Retrying" warning is a failure here.
   */
  async ok(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0 || /retrying|ERROR/i.test(r.stderr)) {
      throw new Error(`s3cmd ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r.stdout;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The keys (after the bucket) and sizes of `s3cmd ls` file lines; DIR lines apart. */
export function parseLs(stdout: string, bucket: string): { dirs: string[]; files: { key: string; size: number }[] } {
  const dirs: string[] = [];
  const files: { key: string; size: number }[] = [];
  const url = `s3://${bucket}/`;
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
    const dir = /^\s+DIR\s+(s3:\/\/.*)$/.exec(line);
    const file = /^\d{4}-\d\d-\d\d \d\d:\d\d\s+(\d+)\s+(s3:\/\/.*)$/.exec(line);
    const where = dir?.[1] ?? file?.[2];
    if (!where?.startsWith(url)) throw new Error(`unexpected s3cmd ls line: ${JSON.stringify(line)}`);
    if (dir) dirs.push(where.slice(url.length));
    else files.push({ key: where.slice(url.length), size: Number(file![1]) });
  }
  return { dirs, files };
}

/** The non-empty lines of s3cmd output that start with `verb:` (upload:, download:, delete:). */
export const actionLines = (stdout: string, verb: string) => stdout.split('\n').filter((l) => l.startsWith(`${verb}: `));
