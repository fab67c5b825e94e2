import path from 'node:path';
import os from 'node:os';
import { DEFAULT_CHUNKING, type ChunkerOptions } from './objects/chunker';

/** Everything configurable, from the environment (README has the table). */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** PostgreSQL or CockroachDB for the metadata; unset: the embedded PostgreSQL in `<dataDir>/meta`. */
  databaseUrl?: string;
  /** Account the embedded PostgreSQL runs as when rfs runs as root (PostgreSQL refuses root). */
  postgresUser?: string;
  /** Redis for the Bloom filters and cache invalidation shared by every gateway; unset: in process. */
  redisUrl?: string;
  /** Where chunks live; several gateways may share one (a shared volume). Unused with storage nodes. */
  chunksDir: string;
  /** Set: chunks go to the storage nodes registered in the metadata store, which answer only
   * requests that carry this secret. Unset: chunks live in `chunksDir`. */
  clusterSecret?: string;
  /** R: copies of each chunk across storage nodes (capped by the node count). */
  replicas: number;
  /** W: copies durable before a chunk write is acknowledged (≤ R). */
  writeQuorum: number;
  /** Storage nodes heartbeat this often; one silent for 5 heartbeats is down. */
  nodeHeartbeatMs: number;
  /** A node down this long no longer counts as holding its chunks: they are copied elsewhere. */
  nodeDownAfterMs: number;
  /** Repair and rebalance copy at most this many MB/s (0: unthrottled). */
  repairMbps: number;
  /** How often the repair queue is worked through. */
  repairIntervalMs: number;
  /** A full rebalance pass at least this often (membership changes start one at once). */
  rebalanceIntervalMs: number;
  /** Connections to the metadata database per gateway. */
  databasePoolSize: number;
  /** Base domain for virtual-hosted-style requests (`bucket.<domain>`); path-style always works. */
  domain?: string;
  region: string;
  /** Accept AWS Signature Version 2 (header, presigned query, POST form): RFS_SIGV2=off refuses
   * it as S3 does on v4-only regions. Default on. */
  sigv2: boolean;
  root?: { accessKeyId: string; secretKey: string };
  /** Objects up to this size live in their metadata row instead of the chunk store. */
  inlineMaxBytes: number;
  chunking: ChunkerOptions;
  /** Chunk writes in flight per upload: memory per PUT ≤ this × maxSize. */
  writeConcurrency: number;
  /** Worker threads hashing (MD5, SHA) large upload bodies off the main thread. */
  hashThreads: number;
  /** Chunk writes in flight across all uploads: bounds upload memory server-wide. */
  writeSlots: number;
  /** Chunks fetched ahead of the one being sent, per GET. */
  readAhead: number;
  gcIntervalMs: number;
  /** A chunk must be unreferenced and unclaimed this long before it is deleted. */
  gcGraceMs: number;
  /** GC deletes at most this many MB of stored chunks per second (0: unthrottled). */
  gcMbps: number;
  /** How often the object Bloom filter is rebuilt from the database. */
  filterRebuildMs: number;
  /** A multipart upload neither completed nor aborted this long after it started is aborted. */
  multipartMaxAgeMs: number;
  /** How often uploads older than multipartMaxAgeMs are looked for. */
  multipartSweepMs: number;
  /** A day, as lifecycle rules count them (86,400 s; seconds in tests, to watch a rule fire). */
  lifecycleDayMs: number;
  /** How often lifecycle rules are run. */
  lifecycleIntervalMs: number;
  /** Metadata rows a lifecycle pass reads per second at most (0: unthrottled). */
  lifecycleRowsPerSecond: number;
  /** Every part but the last must be at least this big (S3: 5 MiB; lower only for benchmarks). */
  multipartMinPartBytes: number;
  /** Seals stored secrets and STS session tokens (32 bytes, base64 or hex). Unset: a key
   * generated once into `<dataDir>/master.key` (0600). Every gateway of one database needs the same. */
  masterKey?: string;
  /** Keycloak (any OpenID Connect provider) whose tokens STS AssumeRoleWithWebIdentity takes. */
  oidc?: OidcConfig;
  /** Longest STS session, in seconds (AWS: 12 h). */
  stsMaxSeconds: number;
  logLevel: string;
}

export interface OidcConfig {
  /** The issuer URL, e.g. a Keycloak realm `https://kc.example.com/realms/rfs`. */
  issuer: string;
  /** The token's `aud` (or `azp`) must name this client; unset: not checked. */
  audience?: string;
  /** Dotted path of the claim that lists policy names (Keycloak's realm roles by default). */
  rolesClaim: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const int = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
    return n;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = (env[name] ?? '').trim().toLowerCase();
    if (raw === '') return fallback;
    if (['on', 'true', '1', 'yes'].includes(raw)) return true;
    if (['off', 'false', '0', 'no'].includes(raw)) return false;
    throw new Error(`${name} must be on or off, got ${env[name]}`);
  };
  const accessKeyId = env.RFS_ROOT_ACCESS_KEY;
  const secretKey = env.RFS_ROOT_SECRET_KEY;
  const dataDir = path.resolve(env.RFS_DATA_DIR || './data');
  const config: Config = {
    host: env.RFS_HOST || '127.0.0.1',
    port: int('RFS_PORT', 9000),
    dataDir,
    databaseUrl: env.RFS_DATABASE_URL || undefined,
    postgresUser: env.RFS_POSTGRES_USER || undefined,
    redisUrl: env.RFS_REDIS_URL || undefined,
    chunksDir: path.resolve(env.RFS_CHUNKS_DIR || path.join(dataDir, 'chunks')),
    clusterSecret: env.RFS_CLUSTER_SECRET || undefined,
    replicas: Math.max(1, int('RFS_REPLICAS', 3)),
    writeQuorum: 0, // below: defaults to replicas
    nodeHeartbeatMs: Math.max(0.1, int('RFS_NODE_HEARTBEAT_SECONDS', 2)) * 1000,
    nodeDownAfterMs: int('RFS_NODE_DOWN_AFTER', 600) * 1000,
    repairMbps: int('RFS_REPAIR_MBPS', 50),
    repairIntervalMs: Math.max(0.1, int('RFS_REPAIR_INTERVAL_SECONDS', 10)) * 1000,
    rebalanceIntervalMs: int('RFS_REBALANCE_INTERVAL_SECONDS', 3600) * 1000,
    databasePoolSize: Math.max(1, int('RFS_DATABASE_POOL_SIZE', 16)),
    domain: env.RFS_DOMAIN || undefined,
    region: env.RFS_REGION || 'us-east-1',
    sigv2: flag('RFS_SIGV2', true),
    root: accessKeyId && secretKey ? { accessKeyId, secretKey } : undefined,
    inlineMaxBytes: int('RFS_INLINE_MAX_BYTES', 64 * 1024),
    chunking: {
      minSize: int('RFS_CHUNK_MIN_BYTES', DEFAULT_CHUNKING.minSize),
      avgSize: int('RFS_CHUNK_AVG_BYTES', DEFAULT_CHUNKING.avgSize),
      maxSize: int('RFS_CHUNK_MAX_BYTES', DEFAULT_CHUNKING.maxSize),
    },
    writeConcurrency: int('RFS_WRITE_CONCURRENCY', 4),
    writeSlots: int('RFS_WRITE_SLOTS', 16),
    readAhead: int('RFS_READ_AHEAD', 2),
    hashThreads: Math.max(1, int('RFS_HASH_THREADS', Math.min(2, os.cpus().length))),
    gcIntervalMs: int('RFS_GC_INTERVAL_SECONDS', 600) * 1000,
    gcGraceMs: int('RFS_GC_GRACE_SECONDS', 3600) * 1000,
    gcMbps: int('RFS_GC_MBPS', 0),
    filterRebuildMs: int('RFS_FILTER_REBUILD_SECONDS', 3600) * 1000,
    multipartMaxAgeMs: int('RFS_MULTIPART_MAX_AGE_SECONDS', 7 * 24 * 3600) * 1000,
    multipartSweepMs: int('RFS_MULTIPART_SWEEP_SECONDS', 3600) * 1000,
    multipartMinPartBytes: int('RFS_MULTIPART_MIN_PART_BYTES', 5 * 1024 * 1024),
    lifecycleDayMs: Math.max(int('RFS_LIFECYCLE_DAY_SECONDS', 86_400), 0.001) * 1000,
    lifecycleIntervalMs: int('RFS_LIFECYCLE_INTERVAL_SECONDS', 3600) * 1000,
    lifecycleRowsPerSecond: int('RFS_LIFECYCLE_ROWS_PER_SECOND', 10_000),
    masterKey: env.RFS_MASTER_KEY || undefined,
    oidc: env.RFS_OIDC_ISSUER
      ? { issuer: env.RFS_OIDC_ISSUER, audience: env.RFS_OIDC_AUDIENCE || undefined, rolesClaim: env.RFS_OIDC_ROLES_CLAIM || 'realm_access.roles' }
      : undefined,
    stsMaxSeconds: int('RFS_STS_MAX_SECONDS', 12 * 3600),
    logLevel: env.RFS_LOG_LEVEL || 'info',
  };
  config.writeQuorum = Math.max(1, int('RFS_WRITE_QUORUM', config.replicas));
  if (config.writeQuorum > config.replicas) throw new Error('RFS_WRITE_QUORUM must not exceed RFS_REPLICAS');
  if (config.inlineMaxBytes >= config.chunking.minSize) {
    throw new Error('RFS_INLINE_MAX_BYTES must be below RFS_CHUNK_MIN_BYTES (an inline object is a single chunk)');
  }
  return config;
}
