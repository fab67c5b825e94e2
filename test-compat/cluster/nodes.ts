import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { loadNodeConfig } from '../../storage-node/config';
import { startStorageNode, type StorageNode } from '../../storage-node/node';
import { NODE_TIME_HEADER } from '../../storage-node/protocol';
import { RemoteChunkStore } from '../../storage-node/remote-store';
import { tempDataDir } from '../harness';
import { processTree } from '../storage/disk';

export const CLUSTER_SECRET = 'rfs-test-cluster-secret-000000000000';
/** Every gateway of one database seals and opens access key secrets with the same key. */
export const MASTER_KEY = '00'.repeat(32);
/** Heartbeats every 200 ms: a stopped node counts as down after 1 s, not 10. */
export const HEARTBEAT_SECONDS = '0.2';

/** Environment that makes a gateway write to the storage nodes registered in `databaseUrl`. */
export function nodeGatewayEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { RFS_DATABASE_URL: databaseUrl, RFS_CLUSTER_SECRET: CLUSTER_SECRET, RFS_MASTER_KEY: MASTER_KEY, RFS_NODE_HEARTBEAT_SECONDS: HEARTBEAT_SECONDS, ...extra };
}

export interface TestNode {
  id: string;
  zone: string;
  dir: string;
  node: StorageNode;
  running: boolean;
  /** Stops it (cleanly: it marks itself down), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same data and port. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** A storage node in this process, on 127.0.0.1 and a port of its own, data in a temp dir. */
export async function startTestNode(databaseUrl: string, id: string, zone: string, extra: Record<string, string> = {}): Promise<TestNode> {
  const dir = await tempDataDir(`node-${id}`);
  const config = (port: number) =>
    loadNodeConfig({
      RFS_NODE_DIR: dir, RFS_NODE_ID: id, RFS_NODE_ZONE: zone, RFS_NODE_PORT: String(port), RFS_CLUSTER_SECRET: CLUSTER_SECRET,
      RFS_DATABASE_URL: databaseUrl, RFS_NODE_HEARTBEAT_SECONDS: HEARTBEAT_SECONDS, RFS_SCRUB_MBPS: '0', ...extra,
    });
  const log = pino({ level: 'warn' });
  let node = await startStorageNode(config(0), log);
  const port = Number(new URL(node.url).port);
  const test: TestNode = {
    id, zone, dir, node, running: true,
    async stop() {
      if (test.running) await node.stop();
      test.running = false;
    },
    async restart() {
      await test.stop();
      node = test.node = await startStorageNode(config(port), log);
      test.running = true;
    },
    async destroy() {
      await test.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return test;
}

/** A storage node as a child process (`npm run storage-node`'s program), for tests that kill it. */
export interface ChildNode {
  id: string;
  url: string;
  dir: string;
  child: ChildProcess;
  /** Starts it again after it was killed (same id, data and port). */
  restart(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startChildNode(
  databaseUrl: string,
  id: string,
  zone: string,
  options: { port: number; extra?: Record<string, string>; wrap?: string[]; netns?: string; host?: string },
): Promise<ChildNode> {
  const main = path.resolve(__dirname, '../../dist/storage-node/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run tsc -p . first (npm test does)`);
  const dir = await tempDataDir(`child-node-${id}`);
  const host = options.host ?? '127.0.0.1';
  const env = {
    ...process.env,
    RFS_NODE_DIR: dir, RFS_NODE_ID: id, RFS_NODE_ZONE: zone, RFS_NODE_HOST: host, RFS_NODE_PORT: String(options.port),
    RFS_CLUSTER_SECRET: CLUSTER_SECRET, RFS_DATABASE_URL: databaseUrl, RFS_NODE_HEARTBEAT_SECONDS: HEARTBEAT_SECONDS,
    RFS_SCRUB_MBPS: '0', RFS_LOG_LEVEL: 'warn', ...options.extra,
  };
  const launch = async (): Promise<ChildProcess> => {
    const argv = [...(options.netns ? ['ip', 'netns', 'exec', options.netns] : []), ...(options.wrap ?? []), process.execPath, main];
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`storage node ${id} did not start:\n${output}`)), 30_000);
      const check = () => {
        if (/is listening on/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`storage node ${id} exited with ${code}:\n${output}`));
      });
    });
    return child;
  };
  const node: ChildNode = {
    id, dir, url: `http://${host}:${options.port}`, child: await launch(),
    async restart() {
      node.child = await launch();
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      const { child } = node;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
  node.child.removeAllListeners('exit');
  return node;
}

/** A TCP port free on 127.0.0.1 now (a child node keeps its port across restarts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every chunk each node holds, asked over HTTP (works for child nodes too). */
export async function holdersOver(nodes: { id: string; url: string }[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (const node of nodes) {
    const client = new RemoteChunkStore({ url: node.url, secret: CLUSTER_SECRET });
    try {
      for await (const c of client.inventory()) map.set(c.address, [...(map.get(c.address) ?? []), node.id]);
    } finally {
      await client.close();
    }
  }
  return map;
}

/**
 * Kills a child node and every process under it. A `wrap` may run the node as its own child
 * and pass no signal on (faketime forks the program and waits for it), so killing only the
 * direct child would leave the node running, orphaned, on its port.
 */
export async function killNodeTree(node: ChildNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const { child } = node;
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    for (const pid of processTree(child.pid).slice(1).reverse()) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }
  await node.kill(signal);
}

/** The node's clock minus ours, in ms, from the NODE_TIME_HEADER of its /health answer (the
 * request's travel time is split evenly: good to a few ms on one machine). */
export async function nodeClockOffset(url: string): Promise<number> {
  const sent = Date.now();
  const res = await fetch(`${url}/health`);
  const received = Date.now();
  await res.arrayBuffer();
  const nodeTime = Number(res.headers.get(NODE_TIME_HEADER));
  if (!Number.isFinite(nodeTime) || nodeTime <= 0) throw new Error(`${url}/health carries no ${NODE_TIME_HEADER} header`);
  return nodeTime - (sent + received) / 2;
}

/** Waits for every start and adds what did start to `into` (so afterAll stops it) even when
 * another start failed, then throws the first failure. In order when all started. */
export async function startedInto<T>(into: T[], starts: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(starts);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  into.push(...started);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return started;
}

/** Polls `ok` every 200 ms until it holds; throws after `ms`. */
export async function waitFor(what: string, ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
