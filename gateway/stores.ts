import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config';
import { openMetadata } from '../metadata/open';
import type { MetadataStore } from '../metadata/store';
import { MemoryBloom } from '../metadata/bloom';
import { HEARTBEATS_BEFORE_DOWN } from '../metadata/cluster-store';
import { createRedisClient, RedisBloom } from '../metadata/redis-bloom';
import { MemoryChangeBus, RedisChangeBus, type ChangeBus } from '../metadata/change-bus';
import type { ChunkStore } from '../storage-node/chunk-store';
import { DiskChunkStore } from '../storage-node/disk-store';
import type { RebuildableBloom } from './objects/key-filter';
import { Membership } from './cluster/membership';
import { ReplicatedChunkStore } from './cluster/replicated-store';

/** Everything a gateway keeps state in, behind the interfaces the rest of rfs sees. */
export interface Stores {
  meta: MetadataStore;
  /** Where object bytes go: the local chunk directory, or the storage nodes. */
  chunks: ChunkStore;
  /** The stores garbage collection walks one by one: the directory, or each reachable node. */
  chunkStores(): ChunkStore[];
  /** With storage nodes: who they are, and the replicating store over them. */
  cluster?: { membership: Membership; store: ReplicatedChunkStore; chunkFilter?: RedisBloom };
  /** "Definitely absent" for bucket/key pairs: in process, or shared by every gateway in Redis. */
  keyFilter: RebuildableBloom;
  /** Cache invalidation between gateways. */
  bus: ChangeBus;
  /** Who rebuilds the key filter when a shared one is found empty or untrusted (Redis restarted,
   * or adds were missed while it was unreachable). */
  whenFilterStale(rebuild: () => Promise<unknown>): void;
  /** Who rebuilds the chunk filter (storage nodes with Redis). */
  whenChunkFilterStale(rebuild: () => Promise<unknown>): void;
  close(): Promise<void>;
}

/**
 * The one place that turns configuration into stores. The embedded default is a set of
 * choices, not another program: metadata in the PostgreSQL rfs supervises (or the database at
 * RFS_DATABASE_URL), filters and invalidation in process (or in Redis at RFS_REDIS_URL),
 * chunks in a local directory (RFS_CHUNKS_DIR, which several gateways may share) or on the
 * storage nodes registered in the metadata store (RFS_CLUSTER_SECRET).
 */
export async function openStores(config: Config, log: FastifyBaseLogger): Promise<Stores> {
  const meta = await openMetadata({
    url: config.databaseUrl,
    metaDir: path.join(config.dataDir, 'meta'),
    runAs: config.postgresUser,
    poolSize: config.databasePoolSize,
    log,
  });
  const closers: (() => Promise<unknown>)[] = [() => meta.close()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((e: unknown) => log.error({ err: e }, 'closing a store failed'));
  };
  try {
    let rebuildKeys = (): Promise<unknown> => Promise.resolve();
    let rebuildChunks = (): Promise<unknown> => Promise.resolve();
    const whenFilterStale = (fn: () => Promise<unknown>) => void (rebuildKeys = fn);
    const whenChunkFilterStale = (fn: () => Promise<unknown>) => void (rebuildChunks = fn);
    let keyFilter: RebuildableBloom = new MemoryBloom();
    let bus: ChangeBus = new MemoryChangeBus(log);
    let chunkFilter: RedisBloom | undefined;
    if (!config.redisUrl && (config.databaseUrl || config.clusterSecret)) {
      log.warn('no RFS_REDIS_URL: the key filter and cache invalidation are in this process, so only one gateway may use this database');
    }
    if (config.redisUrl) {
      const redis = await createRedisClient(config.redisUrl);
      closers.push(() => redis.quit().catch(() => redis.disconnect()));
      const redisBus = new RedisChangeBus(redis, { prefix: 'rfs:bus:', log });
      closers.push(() => redisBus.close());
      bus = redisBus;
      const keys = new RedisBloom({ redis, prefix: 'rfs:keys:', log, onNeedsRebuild: () => rebuildKeys() });
      closers.push(async () => keys.close());
      keyFilter = keys;
      if (config.clusterSecret) {
        chunkFilter = new RedisBloom({ redis, prefix: 'rfs:chunks:', log, onNeedsRebuild: () => rebuildChunks() });
        const filter = chunkFilter;
        closers.push(async () => filter.close());
      }
    }
    const stores = { meta, keyFilter, bus, whenFilterStale, whenChunkFilterStale, close };
    if (!config.clusterSecret) {
      const disk = await DiskChunkStore.open(config.chunksDir);
      closers.push(() => disk.close());
      return { ...stores, chunks: disk, chunkStores: () => [disk] };
    }
    const membership = new Membership(meta.cluster, {
      secret: config.clusterSecret,
      heartbeatTimeoutMs: config.nodeHeartbeatMs * HEARTBEATS_BEFORE_DOWN,
      downAfterMs: config.nodeDownAfterMs,
      refreshMs: config.nodeHeartbeatMs,
      bus,
      log,
    });
    await membership.start();
    const store = new ReplicatedChunkStore(membership, meta.cluster, {
      replicas: config.replicas, writeQuorum: config.writeQuorum, chunkFilter, log,
    });
    closers.push(() => store.close());
    return {
      ...stores,
      chunks: store,
      chunkStores: () => membership.all().filter((n) => n.alive).map((n) => n.client),
      cluster: { membership, store, chunkFilter },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
