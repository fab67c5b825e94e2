/**
 * `npm run cluster`: a whole rfs cluster on this machine: 3 storage nodes in zones a, b and c
 * and 2 gateways, on the local PostgreSQL and Redis. Ctrl-C stops everything; a second run
 * reuses the data, the keys and the cluster secret kept in RFS_CLUSTER_DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { rootCredentials, type RootCredentials } from '../gateway/data-dir';

const env = process.env;
const dir = path.resolve(env.RFS_CLUSTER_DIR || './data-cluster');
const firstPort = Number(env.RFS_PORT || 9000);
const databaseUrl = env.RFS_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/rfs_cluster';
const redisUrl = env.RFS_REDIS_URL || 'redis://127.0.0.1:6379';
const dist = path.resolve(__dirname, '..');
const ZONES = ['a', 'b', 'c'];
const NODE_PORT = 9100;

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true });
  const secrets = await clusterSecrets();
  await ensureDatabase(databaseUrl);
  const children: { name: string; child: ChildProcess }[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // Gateways first (they finish their requests), then the nodes they write to.
    for (const group of [children.filter((c) => c.name.startsWith('gateway')), children.filter((c) => c.name.startsWith('node'))]) {
      await Promise.all(group.map(({ child }) => stopChild(child)));
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  const start = (name: string, script: string, extra: Record<string, string>) => {
    const child = spawn(process.execPath, ['--enable-source-maps', path.join(dist, script)], {
      env: { ...env, RFS_DATABASE_URL: databaseUrl, RFS_REDIS_URL: redisUrl, RFS_CLUSTER_SECRET: secrets.clusterSecret, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    prefixLines(child, name);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`[${name}] exited (${signal ?? code}); stopping the cluster\n`);
      void stopAll(1);
    });
    children.push({ name, child });
  };

  const nodeUrls = ZONES.map((zone, i) => {
    const port = NODE_PORT + i;
    start(`node-${zone}`, 'storage-node/main.js', {
      RFS_NODE_ID: `node-${zone}`, RFS_NODE_ZONE: zone, RFS_NODE_DIR: path.join(dir, `node-${zone}`),
      RFS_NODE_HOST: '127.0.0.1', RFS_NODE_PORT: String(port),
    });
    return `http://127.0.0.1:${port}`;
  });
  await Promise.all(nodeUrls.map((u) => waitHealthy(`${u}/health`)));
  const gatewayUrls = [0, 1].map((i) => {
    const port = firstPort + i;
    start(`gateway-${i + 1}`, 'gateway/main.js', {
      RFS_HOST: env.RFS_HOST || '127.0.0.1', RFS_PORT: String(port), RFS_DATA_DIR: path.join(dir, `gateway-${i + 1}`),
      RFS_ROOT_ACCESS_KEY: secrets.accessKeyId, RFS_ROOT_SECRET_KEY: secrets.secretKey, RFS_MASTER_KEY: secrets.masterKey,
    });
    return `http://127.0.0.1:${port}`;
  });
  await Promise.all(gatewayUrls.map((u) => waitHealthy(`${u}/_rfs/health`)));
  process.stdout.write(
    [
      '',
      `rfs cluster is up (data in ${dir}; metadata ${redact(databaseUrl)}; Redis ${redact(redisUrl)})`,
      '',
      ...gatewayUrls.map((u, i) => `  gateway ${i + 1}:      ${u}`),
      ...nodeUrls.map((u, i) => `  storage node ${ZONES[i]}: ${u}  (zone ${ZONES[i]})`),
      '',
      `  access key: ${secrets.accessKeyId}`,
      `  secret key: ${secrets.secretKey}`,
      '',
      'Try it:',
      `  AWS_ACCESS_KEY_ID=${secrets.accessKeyId} AWS_SECRET_ACCESS_KEY=${secrets.secretKey} AWS_DEFAULT_REGION=us-east-1 \\`,
      `    aws --endpoint-url ${gatewayUrls[0]} s3 ls`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n',
  );
}

/** Root keys (gateway/data-dir.ts's rule: from the environment, else made once and kept), and
 * likewise the cluster secret and the master key every gateway of one database shares. */
async function clusterSecrets(): Promise<RootCredentials & { clusterSecret: string; masterKey: string }> {
  const fromEnv = env.RFS_ROOT_ACCESS_KEY && env.RFS_ROOT_SECRET_KEY ? { accessKeyId: env.RFS_ROOT_ACCESS_KEY, secretKey: env.RFS_ROOT_SECRET_KEY } : undefined;
  return {
    ...rootCredentials(dir, fromEnv),
    clusterSecret: await kept('cluster-secret', env.RFS_CLUSTER_SECRET, () => randomBytes(32).toString('base64url')),
    masterKey: await kept('master.key', env.RFS_MASTER_KEY, () => randomBytes(32).toString('base64')),
  };
}

/** `value` if set, else the content of `<dir>/<name>`, made once with mode 0600. */
async function kept(name: string, value: string | undefined, make: () => string): Promise<string> {
  if (value) return value;
  const file = path.join(dir, name);
  let kept = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
  if (!kept) await writeFile(file, `${(kept = make())}\n`, { mode: 0o600 });
  return kept;
}

/** Creates the database named in the URL if the server does not have it yet. */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function prefixLines(child: ChildProcess, name: string): void {
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    let rest = '';
    stream?.on('data', (data: Buffer) => {
      const lines = (rest + data.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) out.write(`[${name}] ${line}\n`);
    });
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

main().catch((e) => {
  process.stderr.write(`rfs cluster failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
