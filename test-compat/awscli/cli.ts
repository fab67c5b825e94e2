import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../harness';

/**
 * Runs the real `aws` command (aws-cli 1.x or 2.x) against an rfs server: execFile with an
 * argument list (never a shell string), root credentials from the environment, and config
 * and credentials files of our own so a developer's ~/.aws never leaks in.
 */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The config file every call uses. aws cli's `s3` commands switch to multipart upload (and to
 * parallel ranged GETs on download) above `multipart_threshold`, 8 MiB by default; 5 MB (the
 * cli's MB are MiB) for threshold and part size makes every file over 5 MiB in this suite
 * cross into CreateMultipartUpload/UploadPart/CompleteMultipartUpload in 5 MiB parts, the
 * smallest S3 allows. `max_attempts = 1`: a retried request would hide a failure behind a
 * later success. Nothing else is configured: addressing style, signing and checksums are the
 * cli's defaults.
 */
const CONFIG = '[default]\nmax_attempts = 1\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n';

/** The parent environment without any AWS_* variable (profiles, tokens, endpoints...). */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  // Keys and file names in this suite are UTF-8; make the cli's Python print them as such.
  env.PYTHONIOENCODING = 'utf-8';
  return env;
}

/** `aws --version` output ("aws-cli/1.45.11 Python/3.11.7 ..."), or undefined if aws does not run. */
export function awsVersion(): string | undefined {
  const r = spawnSync('aws', ['--version'], { encoding: 'utf8', env: baseEnv(), timeout: 60_000 });
  if (r.error || r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim(); // very old 1.x releases printed it on stderr
}

export class AwsCli {
  private constructor(
    readonly endpoint: string,
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * A cli bound to `endpoint`, with its config and (empty) credentials files in a temp dir.
   * `extraS3Config` adds lines to the config's `s3 =` section (e.g. `signature_version = s3v4`).
   */
  static async create(endpoint: string, extraS3Config: string[] = []): Promise<AwsCli> {
    const dir = await mkdtemp(path.join(tmpdir(), 'rfs-awscli-'));
    const configFile = path.join(dir, 'config');
    const credentialsFile = path.join(dir, 'credentials');
    await writeFile(configFile, CONFIG + extraS3Config.map((l) => `  ${l}\n`).join(''));
    await writeFile(credentialsFile, '');
    const env: NodeJS.ProcessEnv = {
      ...baseEnv(),
      AWS_ACCESS_KEY_ID: ROOT.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ROOT.secretKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
    return new AwsCli(endpoint, dir, env);
  }

  /** `aws <args...> --endpoint-url <endpoint>`; resolves with the exit code whatever it is. */
  run(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      execFile(
        'aws',
        [...args, '--endpoint-url', this.endpoint],
        { env: { ...this.env, ...opts.env }, cwd: opts.cwd ?? this.dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
        (err, stdout, stderr) => {
          if (err && typeof (err as { code?: unknown }).code !== 'number') {
            reject(new Error(`aws ${args.join(' ')} did not run: ${err.message}\n${stderr}`));
            return;
          }
          resolve({ code: err ? ((err as { code?: unknown }).code as number) : 0, stdout, stderr });
        },
      );
    });
  }

  /** Runs and requires exit code 0, with the command and its stderr in the error otherwise. */
  async ok(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  /** `aws s3api ...` with JSON output, parsed ({} when the command prints nothing). */
  async api(args: string[]): Promise<Record<string, any>> {
    const out = await this.ok(['s3api', ...args, '--output', 'json']);
    return out.trim() === '' ? {} : JSON.parse(out);
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
