import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config';
import { openMetadata } from '../metadata/open';
import type { MetadataStore } from '../metadata/store';
import { MemoryBloom } from '../metadata/bloom';
import { createRedisClient, RedisBloom } from '../metadata/redis-bloom';
import { MemoryChangeBus, RedisChangeBus, type ChangeBus } from '../metadata/change-bus';
import { DiskChunkStore } from '../storage-node/disk-store';
import type { RebuildableBloom } from './objects/key-filter';

/** Everything a gateway keeps state in, behind the interfaces the rest of rfs sees. */
export interface Stores {
  meta: MetadataStore;
  chunks: DiskChunkStore;
  /** "Definitely absent" for bucket/key pairs: in process, or shared by every gateway in Redis. */
  keyFilter: RebuildableBloom;
  /** Cache invalidation between gateways. */
  bus: ChangeBus;
  /** Who rebuilds the key filter when a shared one is found empty or untrusted (Redis restarted,
   * or adds were missed while it was unreachable). */
  whenFilterStale(rebuild: () => Promise<unknown>): void;
  close(): Promise<void>;
}

/**
 * The one place that turns configuration into stores. The embedded default is a set of
 * choices, not another program: metadata in the PostgreSQL rfs supervises (or the database at
 * RFS_DATABASE_URL), filters and invalidation in process (or in Redis at RFS_REDIS_URL),
 * chunks in a local directory (RFS_CHUNKS_DIR, which several gateways may share).
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
    const chunks = await DiskChunkStore.open(config.chunksDir);
    closers.push(() => chunks.close());
    let rebuild = (): Promise<unknown> => Promise.resolve();
    const whenFilterStale = (fn: () => Promise<unknown>) => void (rebuild = fn);
    if (!config.redisUrl) return { meta, chunks, keyFilter: new MemoryBloom(), bus: new MemoryChangeBus(log), whenFilterStale, close };
    const redis = await createRedisClient(config.redisUrl);
    closers.push(() => redis.quit().catch(() => redis.disconnect()));
    const bus = new RedisChangeBus(redis, { prefix: 'rfs:bus:', log });
    closers.push(() => bus.close());
    const keyFilter = new RedisBloom({ redis, prefix: 'rfs:keys:', log, onNeedsRebuild: () => rebuild() });
    closers.push(async () => keyFilter.close());
    return { meta, chunks, keyFilter, bus, whenFilterStale, close };
  } catch (e) {
    await close();
    throw e;
  }
}
