import path from 'node:path';

/** A storage node's settings, from the environment (README has the table). */
export interface NodeConfig {
  /** Its chunk directory, and where it keeps its id. */
  dir: string;
  host: string;
  port: number;
  /** The URL gateways reach it at (RFS_NODE_URL), if not http://host:port. */
  url?: string;
  /** Stable id; unset: generated once and kept in `<dir>/node-id`. */
  id?: string;
  zone: string;
  /** Bytes it offers; unset: its filesystem's size. */
  capacityBytes?: number;
  secret: string;
  databaseUrl: string;
  heartbeatMs: number;
  /** Scrub re-reads and re-hashes every chunk at this rate (0: no scrub). */
  scrubMbps: number;
  /** Pause between the end of one scrub pass and the next. */
  scrubIntervalMs: number;
  logLevel: string;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 2 ** 10, m: 1e6, mb: 1e6, mib: 2 ** 20, g: 1e9, gb: 1e9, gib: 2 ** 30, t: 1e12, tb: 1e12, tib: 2 ** 40 };

/** "500GiB", "2TB", "1e9" → bytes. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`not a size: ${JSON.stringify(text)} (use bytes, or a suffix such as 500GiB or 2TB)`);
  return Math.floor(Number(m[1]) * unit);
}

export function loadNodeConfig(env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const num = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
    return n;
  };
  const secret = env.RFS_CLUSTER_SECRET;
  if (!secret) throw new Error('RFS_CLUSTER_SECRET must be set: the node answers only requests that carry it');
  const databaseUrl = env.RFS_DATABASE_URL;
  if (!databaseUrl) throw new Error('RFS_DATABASE_URL must be set: the node registers itself in the metadata store');
  return {
    dir: path.resolve(env.RFS_NODE_DIR || './data-node'),
    host: env.RFS_NODE_HOST || '127.0.0.1',
    port: num('RFS_NODE_PORT', 9100),
    url: env.RFS_NODE_URL || undefined,
    id: env.RFS_NODE_ID || undefined,
    zone: env.RFS_NODE_ZONE || 'default',
    capacityBytes: env.RFS_NODE_CAPACITY ? parseBytes(env.RFS_NODE_CAPACITY) : undefined,
    secret,
    databaseUrl,
    heartbeatMs: Math.max(0.1, num('RFS_NODE_HEARTBEAT_SECONDS', 2)) * 1000,
    scrubMbps: num('RFS_SCRUB_MBPS', 10),
    scrubIntervalMs: num('RFS_SCRUB_INTERVAL_SECONDS', 24 * 3600) * 1000,
    logLevel: env.RFS_LOG_LEVEL || 'info',
  };
}
