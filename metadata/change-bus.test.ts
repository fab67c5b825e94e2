import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startTcpProxy, TcpProxy } from '../test-compat/tcp-proxy';
import { MemoryChangeBus, RedisChangeBus } from './change-bus';
import { createRedisClient, redisErrors } from './redis-bloom';

// Real Redis (RFS_REDIS_URL, default 127.0.0.1:6379); each test publishes under its own prefix.
const REDIS_URL = process.env.RFS_REDIS_URL ?? 'redis://127.0.0.1:6379';
let up = false;
const clients: Redis[] = [];
const proxies: TcpProxy[] = [];
const buses: RedisChangeBus[] = [];
let prefix = '';

beforeAll(async () => {
  const probe = await createRedisClient(REDIS_URL, { retryStrategy: () => null });
  try {
    up = (await probe.ping()) === 'PONG';
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`Redis at ${REDIS_URL} is unreachable, and CI requires it: ${err}`);
    console.warn(`SKIPPING RedisChangeBus tests: Redis at ${REDIS_URL} is unreachable (${err}). Start Redis or set RFS_REDIS_URL.`);
  } finally {
    probe.disconnect();
  }
});

beforeEach(() => {
  prefix = `rfs-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
});

afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** A test that needs Redis; outside CI it passes vacuously (after the loud warning above) when there is none. */
function redisTest(name: string, fn: () => Promise<void>): void {
  test(name, async () => (up ? fn() : undefined));
}

async function bus(url = REDIS_URL): Promise<RedisChangeBus> {
  const redis = await createRedisClient(url);
  clients.push(redis);
  const b = new RedisChangeBus(redis, { prefix });
  buses.push(b);
  return b;
}

async function proxiedBus(): Promise<{ proxy: TcpProxy; bus: RedisChangeBus }> {
  const target = new URL(REDIS_URL);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
  proxies.push(proxy);
  target.hostname = '127.0.0.1';
  target.port = String(proxy.port);
  return { proxy, bus: await bus(target.toString()) };
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(5);
  }
}

async function errorCount(): Promise<number> {
  return (await redisErrors.get()).values.reduce((sum, v) => sum + v.value, 0);
}

describe('MemoryChangeBus', () => {
  test('MemoryChangeBus_deliversBeforePublishResolves', async () => {
    const b = new MemoryChangeBus();
    const got: string[] = [];
    b.subscribe('bucket', (m) => got.push(m));
    b.subscribe('bucket', () => {
      throw new Error('a broken handler does not stop the others');
    });
    b.subscribe('other', (m) => got.push(`other:${m}`));
    await b.publish('bucket', 'photos');
    expect(got).toEqual(['photos']);
    await b.close();
  });
});

describe('RedisChangeBus', () => {
  redisTest('RedisChangeBus_deliversAcrossGatewaysWithin100ms', async () => {
    const [a, b] = [await bus(), await bus()];
    const got: [string, number][] = [];
    b.subscribe('bucket', (m) => got.push([m, performance.now()]));
    b.subscribe('other', (m) => got.push([`other:${m}`, 0]));
    await b.ready();
    const sent = performance.now();
    await a.publish('bucket', 'photos');
    await waitFor(() => got.length > 0, 1000);
    expect(got[0][0]).toBe('photos');
    expect(got[0][1] - sent).toBeLessThan(100);
    await sleep(20);
    expect(got).toHaveLength(1);
  });

  redisTest('RedisChangeBus_publishWhileRedisDownDoesNotThrow', async () => {
    const { proxy, bus: a } = await proxiedBus();
    const local: string[] = [];
    a.subscribe('bucket', (m) => local.push(m));
    await a.ready();
    const errorsBefore = await errorCount();
    proxy.cut();
    const start = performance.now();
    await a.publish('bucket', 'photos');
    expect(performance.now() - start).toBeLessThan(1000);
    expect(await errorCount()).toBe(errorsBefore + 1);
    expect(local).toEqual(['photos']); // this gateway's own cache still hears it
  });

  redisTest('RedisChangeBus_subscriberCutThenRestoredResyncs', async () => {
    const { proxy, bus: b } = await proxiedBus();
    const a = await bus();
    const got: string[] = [];
    let resyncs = 0;
    b.subscribe('bucket', (m) => got.push(m));
    b.onResync(() => resyncs++);
    await b.ready();
    expect(resyncs).toBe(1); // every connection starts with one, the first included (caches may predate it)
    proxy.cut();
    await a.publish('bucket', 'lost-while-cut'); // b cannot hear this one...
    proxy.restore();
    await waitFor(() => resyncs === 2); // ...so it is told to drop everything
    await a.publish('bucket', 'after'); // and it is subscribed again
    await waitFor(() => got.length === 1);
    expect(got).toEqual(['after']);
  });

  redisTest('RedisChangeBus_failedPublishResyncsOtherGateways', async () => {
    const { proxy, bus: a } = await proxiedBus();
    const b = await bus();
    let resyncs = 0;
    b.onResync(() => resyncs++);
    await Promise.all([a.ready(), b.ready()]);
    expect(resyncs).toBe(1);
    proxy.cut();
    await a.publish('bucket', 'photos'); // never reaches b
    await sleep(50);
    expect(resyncs).toBe(1);
    proxy.restore();
    await waitFor(() => resyncs === 2); // a broadcasts a resync once it reaches Redis again
  });
});
