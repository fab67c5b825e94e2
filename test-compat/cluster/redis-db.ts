import { Redis } from 'ioredis';

/** The machine's Redis is shared: each suite uses a database number of its own, emptied
 * when the suite ends so nothing is left behind. */
const BASE = process.env.RFS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function redisDbUrl(db: number): string {
  return `${BASE}/${db}`;
}

export async function flushRedisDb(db: number): Promise<void> {
  const redis = new Redis(redisDbUrl(db), { lazyConnect: true });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
}
