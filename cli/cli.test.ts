import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../metadata/pg.testing';
import { ROOT, s3Client, s3Error, startTestServer, type TestServer } from '../test-compat/harness';
import { signRequest } from '../test-compat/http/signing';
import { ensureBuiltinPolicies } from '../gateway/admin';
import { startAdminServer, type AdminServer } from '../gateway/admin/admin.testing';

/**
 * The real `rfs` CLI, run as a child process with a HOME of its own, against a real gateway
 * on PostgreSQL: what an operator types, what comes back, and the exit codes scripts rely on.
 */
const REPO = path.resolve(__dirname, '..');
let database: { url: string; drop(): Promise<void> };
let gateway: TestServer;
let sidecar: AdminServer | undefined;
let adminUrl: string;
let home: string;
let s3: S3Client;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `rfs <args>` from the sources (tsx), with only PATH and HOME from this environment. */
function rfs(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'cli/main.ts'), ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: home, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** The gateway's own admin API once it registers one; until then, its services' admin API on
 * a listener of its own (gateway/admin/admin.testing.ts). */
async function adminEndpoint(): Promise<string> {
  const signed = await signRequest(gateway.url, { method: 'GET', path: '/_rfs/admin/users' }, { keys: ROOT });
  const res = await fetch(signed.url, { headers: signed.headers });
  await res.text();
  if (res.status === 200) return gateway.url;
  sidecar = await startAdminServer(gateway.rfs!);
  return sidecar.url;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  database = await createTestDatabase(`rfs_cli_${process.pid}`);
  gateway = await startTestServer({ RFS_DATABASE_URL: database.url });
  await ensureBuiltinPolicies(gateway.rfs!.services.meta.iam);
  adminUrl = await adminEndpoint();
  home = await mkdtemp(path.join(tmpdir(), 'rfs-cli-home-'));
  s3 = s3Client(gateway.url);
});

afterAll(async () => {
  s3?.destroy();
  await sidecar?.close();
  await gateway?.close();
  await database?.drop();
  if (home) await rm(home, { recursive: true, force: true });
});

test('Cli_config: rfs config writes a 0600 profile; --show masks the secret', async () => {
  const saved = await rfs(['config', '--endpoint', adminUrl, '--access-key', ROOT.accessKeyId, '--secret-key', ROOT.secretKey]);
  expect(saved).toMatchObject({ code: 0, stderr: '' });
  const file = path.join(home, '.config', 'rfs', 'config.json');
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect(JSON.parse(await readFile(file, 'utf8')).profiles.default).toEqual({ endpoint: adminUrl, accessKey: ROOT.accessKeyId, secretKey: ROOT.secretKey, region: 'us-east-1' });

  const shown = await rfs(['config', '--show']);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain(adminUrl);
  expect(shown.stdout).not.toContain(ROOT.secretKey);

  // A second profile leaves the first alone.
  expect((await rfs(['config', '--profile', 'other', '--endpoint', 'http://127.0.0.1:1', '--access-key', 'x', '--secret-key', 'y'])).code).toBe(0);
  expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).profiles).sort()).toEqual(['default', 'other']);
});

test('Cli_users_and_keys: create a user and a key (the secret shown once), list keys without secrets, sign S3 with the key', async () => {
  const created = await rfs(['user', 'create', 'alice', '--policy', 'readwrite']);
  expect(created).toMatchObject({ code: 0 });
  expect(created.stdout).toContain('created user alice');

  const list = await rfs(['user', 'list']);
  expect(list.stdout).toMatch(/^NAME\s+SOURCE\s+DISABLED\s+POLICIES\s+CREATED\n/);
  expect(list.stdout).toMatch(/\nalice\s+local\s+no\s+readwrite\s+/);
  const json = JSON.parse((await rfs(['user', 'list', '--json'])).stdout);
  expect(json.users.map((u: { name: string }) => u.name)).toContain('alice');

  const key = await rfs(['key', 'create', 'alice']);
  expect(key.code).toBe(0);
  const accessKeyId = /access key: (\S+)/.exec(key.stdout)![1];
  const secretKey = /secret key: (\S+)/.exec(key.stdout)![1];
  expect(accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
  expect(secretKey).toHaveLength(40);
  expect(key.stderr).toMatch(/shown only now/);

  const keys = await rfs(['key', 'list', 'alice']);
  expect(keys.stdout).toMatch(new RegExp(`${accessKeyId}\\s+Active`));
  expect(keys.stdout).not.toContain(secretKey);
  const keysJson = JSON.parse((await rfs(['--json', 'key', 'list', 'alice'])).stdout);
  expect(keysJson.keys).toEqual([{ accessKeyId, userName: 'alice', status: 'Active', createdAt: expect.any(String) }]);
  const info = await rfs(['user', 'info', 'alice']);
  expect(info.stdout).toContain(accessKeyId);
  expect(info.stdout).not.toContain(secretKey);

  const alice = s3Client(gateway.url, { accessKeyId, secretKey });
  try {
    await alice.send(new CreateBucketCommand({ Bucket: 'alices' }));
    expect((await rfs(['key', 'disable', accessKeyId])).code).toBe(0);
    expect(await s3Error(alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'k', Body: 'x' })))).toMatchObject({ name: 'InvalidAccessKeyId' });
  } finally {
    alice.destroy();
  }

  expect((await rfs(['user', 'attach', 'alice', 'readonly'])).stdout).toContain('readwrite, readonly');
  expect((await rfs(['user', 'detach', 'alice', 'readwrite'])).stdout).toContain("alice's policies: readonly");
  const refused = await rfs(['user', 'info', 'nobody']);
  expect(refused).toMatchObject({ code: 1, stderr: 'rfs: NoSuchEntity: no user nobody\n' });
});

test('Cli_policies: a malformed document exits 1 with AWS\'s message; a good one from stdin round-trips through get', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rfs-cli-policy-'));
  try {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }] }));
    const refused = await rfs(['policy', 'put', 'broken', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^rfs: MalformedPolicyDocument: \S.*\n$/);
    expect(refused.stdout).toBe('');

    const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' }] };
    expect(await rfs(['policy', 'put', 'photos-read', '-'], { input: JSON.stringify(doc) })).toMatchObject({ code: 0, stdout: 'saved policy photos-read\n' });
    expect(JSON.parse((await rfs(['policy', 'get', 'photos-read'])).stdout)).toEqual(doc);
    expect((await rfs(['policy', 'list'])).stdout).toMatch(/\nphotos-read\s+no\s+/);
    expect(await rfs(['policy', 'put', 'x', path.join(dir, 'missing.json')])).toMatchObject({ code: 2 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Cli_quota: rfs bucket quota set, then a PUT past it is refused with QuotaExceeded', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'capped' }));
  await s3.send(new PutObjectCommand({ Bucket: 'capped', Key: 'first', Body: Buffer.alloc(600, 1) }));
  const set = await rfs(['bucket', 'quota', 'set', 'capped', '1KiB']);
  expect(set).toMatchObject({ code: 0, stdout: 'quota of capped: 1 KiB (1024 bytes)\n' });

  const info = await rfs(['bucket', 'info', 'capped']);
  expect(info.stdout).toMatch(/quota:\s+1 KiB \(1024 bytes\), 59% used/);
  const listed = JSON.parse((await rfs(['bucket', 'list', '--json'])).stdout);
  expect(listed.buckets.find((b: { name: string }) => b.name === 'capped')).toMatchObject({ quotaBytes: 1024, usage: { objects: 1, logicalBytes: 600 } });

  expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'capped', Key: 'second', Body: Buffer.alloc(600, 2) })))).toMatchObject({ name: 'QuotaExceeded', status: 403 });
  await s3.send(new PutObjectCommand({ Bucket: 'capped', Key: 'small', Body: Buffer.alloc(100, 3) }));

  expect((await rfs(['bucket', 'quota', 'clear', 'capped'])).code).toBe(0);
  await s3.send(new PutObjectCommand({ Bucket: 'capped', Key: 'second', Body: Buffer.alloc(600, 2) }));
  expect((await rfs(['bucket', 'quota', 'set', 'capped', '10 parsecs'])).code).toBe(2);
  expect(await rfs(['bucket', 'quota', 'set', 'missing', '1GiB'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^rfs: NoSuchBucket: /) });
});

test('Cli_jobs: rfs job start gc --wait follows the run to its end; job list shows it', async () => {
  const run = await rfs(['job', 'start', 'gc', '--wait']);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^gc finished: /);
  expect(run.stderr).toMatch(/^gc: finished/m); // not a terminal: plain lines, no bar

  const jobs = JSON.parse((await rfs(['job', 'list', '--json'])).stdout);
  expect(jobs.jobs.find((j: { name: string }) => j.name === 'gc')).toMatchObject({ running: false, progress: { finished: expect.any(String) } });
  expect((await rfs(['job', 'list'])).stdout).toMatch(/\ngc\s+finished\s+/);
  const lifecycle = await rfs(['job', 'start', 'lifecycle', '--wait']);
  expect(lifecycle).toMatchObject({ code: 0, stdout: expect.stringMatching(/^lifecycle finished: /) });
  expect((await rfs(['node', 'list'])).stdout).toMatch(/no storage nodes/);
});

test('Cli_exit_codes: 0 for help, 2 for usage errors, 3 when the server cannot be reached or refuses the credentials', async () => {
  const help = await rfs(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/Exit codes:/);
  expect((await rfs(['user', 'create', '--help'])).stdout).toMatch(/Arguments:\s+name\s+user name/);

  expect((await rfs(['user', 'create'])).code).toBe(2); // missing argument
  expect((await rfs(['frobnicate'])).code).toBe(2);
  expect((await rfs(['user', 'list', '--no-such-option'])).code).toBe(2);

  const port = await closedPort();
  const unreachable = await rfs(['user', 'list', '--endpoint', `http://127.0.0.1:${port}`]);
  expect(unreachable).toMatchObject({ code: 3, stderr: expect.stringMatching(/^rfs: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/) });
  const wrongSecret = await rfs(['user', 'list'], { env: { RFS_SECRET_KEY: 'not-the-secret' } });
  expect(wrongSecret).toMatchObject({ code: 3, stderr: expect.stringMatching(/^rfs: SignatureDoesNotMatch: /) });
  const nowhere = await rfs(['user', 'list'], { env: { HOME: path.join(home, 'empty') } });
  expect(nowhere).toMatchObject({ code: 3, stderr: expect.stringMatching(/no endpoint for profile "default"/) });
});

test('Cli_bin: the installed bin asks for a build when dist/ is missing', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rfs-cli-bin-'));
  try {
    await mkdir(path.join(dir, 'bin'));
    await copyFile(path.join(REPO, 'bin', 'rfs.js'), path.join(dir, 'bin', 'rfs.js'));
    const run = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [path.join(dir, 'bin', 'rfs.js'), '--help'], { cwd: dir });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout: '', stderr }));
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/run `npm run build` first/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
