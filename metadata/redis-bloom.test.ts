import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startTcpProxy, TcpProxy } from '../test-compat/tcp-proxy';
import { createRedisClient, hasBloomModule, RebuildBusyError, RedisBloom, RedisBloomOptions, redisErrors } from './redis-bloom';

// Real Redis (RFS_REDIS_URL, default 127.0.0.1:6379), each test under its own key prefix, deleted afterwards.
const REDIS_URL = process.env.RFS_REDIS_URL ?? 'redis://127.0.0.1:6379';
let up = false;
let admin: Redis;
const clients: Redis[] = [];
const proxies: TcpProxy[] = [];
const blooms: RedisBloom[] = [];
let prefix = '';

beforeAll(async () => {
  admin = await createRedisClient(REDIS_URL, { retryStrategy: () => null });
  try {
    up = (await admin.ping()) === 'PONG';
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`Redis at ${REDIS_URL} is unreachable, and CI requires it: ${err}`);
    console.warn(`SKIPPING RedisBloom tests: Redis at ${REDIS_URL} is unreachable (${err}). Start Redis or set RFS_REDIS_URL.`);
  }
});

afterAll(() => admin.disconnect());

beforeEach(() => {
  prefix = `rfs-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
});

afterEach(async () => {
  for (const b of blooms.splice(0)) b.close();
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  if (!up) return;
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length) await admin.del(...keys);
});

/** A test that needs Redis; outside CI it passes vacuously (after the loud warning above) when there is none. */
function redisTest(name: string, fn: () => Promise<void>, timeout?: number): void {
  test(name, async () => (up ? fn() : undefined), timeout);
}

async function client(url = REDIS_URL): Promise<Redis> {
  const c = await createRedisClient(url);
  clients.push(c);
  return c;
}

function bloom(redis: Redis, opts: Partial<RedisBloomOptions> = {}): RedisBloom {
  const b = new RedisBloom({ redis, prefix, capacity: 1000, settleMs: 0, ...opts });
  blooms.push(b);
  return b;
}

async function proxied(): Promise<{ proxy: TcpProxy; redis: Redis }> {
  const target = new URL(REDIS_URL);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
  proxies.push(proxy);
  const url = new URL(REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const redis = await client(url.toString());
  return { proxy, redis };
}

async function* items(list: Iterable<string>): AsyncGenerator<string> {
  for (const i of list) yield i;
}

const range = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

/** Runs `fn` over `list` 100 at a time: 10k calls at once would exceed the 500 ms command timeout. */
async function inBatches<T>(list: string[], fn: (k: string) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < list.length; i += 100) out.push(...(await Promise.all(list.slice(i, i + 100).map(fn))));
  return out;
}

async function errorCount(): Promise<number> {
  return (await redisErrors.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await call();
  return { value, ms: performance.now() - start };
}

/** Commands the client sends during `call`; every one of ours is a single EVALSHA, so this is the round trips. */
async function roundTrips(redis: Redis, call: () => Promise<unknown>): Promise<number> {
  const spy = jest.spyOn(redis, 'sendCommand');
  try {
    await call();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('RedisBloom', () => {
  redisTest('RedisBloom_addThenMightContain', async () => {
    const b = bloom(await client());
    await b.rebuild(items([]));
    await b.add('k1');
    expect(await b.mightContain('k1')).toBe(true);
    expect(await b.mightContain('never-added')).toBe(false);
    expect(b.needsRebuild()).toBe(false);
  });

  redisTest('RedisBloom_falsePositiveRateNearConfigured', async () => {
    const b = bloom(await client(), { capacity: 10_000, errorRate: 0.01 });
    expect(await b.rebuild(items(range(5_000, 'in')))).toBe(5_000);
    for (const k of range(5_000, 'add')) await b.add(k);
    const errorsBefore = await errorCount();
    const present = await inBatches([...range(5_000, 'in'), ...range(5_000, 'add')], (k) => b.mightContain(k));
    expect(present.every(Boolean)).toBe(true);
    const absent = await inBatches(range(10_000, 'out'), (k) => b.mightContain(k));
    const rate = absent.filter(Boolean).length / absent.length;
    expect(rate).toBeGreaterThan(0.002);
    expect(rate).toBeLessThan(0.02);
    expect(await errorCount()).toBe(errorsBefore); // a "maybe" from a timeout would hide a real false negative
  });

  redisTest('RedisBloom_oneRoundTripPerAddAndMightContain', async () => {
    const redis = await client();
    const b = bloom(redis);
    await b.rebuild(items(['a']));
    await b.add('warm'); // learns the pointers
    expect(await roundTrips(redis, () => b.add('x'))).toBe(1);
    expect(await roundTrips(redis, () => b.mightContain('x'))).toBe(1);
    expect(await roundTrips(redis, () => b.mightContain('y'))).toBe(1);
  });

  redisTest('RedisBloom_twoGatewaysSeeEachOthersAdds', async () => {
    const [a, b] = [bloom(await client()), bloom(await client())];
    await a.rebuild(items([]));
    await a.add('from-a');
    await b.add('from-b');
    expect(await b.mightContain('from-a')).toBe(true);
    expect(await a.mightContain('from-b')).toBe(true);
    expect(await a.mightContain('from-nobody')).toBe(false);
  });

  redisTest('RedisBloom_rebuildDropsDeletedKeepsConcurrentAdds', async () => {
    const [a, b] = [bloom(await client()), bloom(await client())];
    await a.rebuild(items(['gone', 'kept']));
    await b.add('before-gen'); // b now caches the old generation's pointers
    expect(await b.mightContain('gone')).toBe(true);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = (async function* () {
      yield 'kept';
      await gate;
      yield 'late';
    })();
    const building = a.rebuild(slow);
    await sleep(50); // let the rebuild announce itself
    await b.add('during-b'); // another gateway, with stale cached pointers
    await a.add('during-a');
    await expect(b.rebuild(items([]))).rejects.toBeInstanceOf(RebuildBusyError);
    release();
    expect(await building).toBe(2);
    for (const k of ['kept', 'late', 'during-a', 'during-b']) {
      expect(await a.mightContain(k)).toBe(true);
      expect(await b.mightContain(k)).toBe(true);
    }
    expect(await b.mightContain('gone')).toBe(false);
    expect(await b.mightContain('before-gen')).toBe(false); // its row was never in the database
    expect(await admin.keys(`${prefix}*`)).toHaveLength(2); // current pointer and one bitmap: nothing leaked
  });

  redisTest('RedisBloom_rebuildThatLostItsLeaseDoesNotSwap', async () => {
    const [a, b] = [bloom(await client()), bloom(await client())];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = (async function* () {
      await gate;
      yield 'from-a';
    })();
    const building = a.rebuild(slow);
    await sleep(50);
    await admin.del(`${prefix}lease`); // as if a's lease had expired
    await b.rebuild(items(['from-b']));
    release();
    await expect(building).rejects.toBeInstanceOf(RebuildBusyError); // superseded: a later rebuild redoes it
    expect(await a.mightContain('from-b')).toBe(true);
    expect(await a.mightContain('from-a')).toBe(false);
    expect(await admin.keys(`${prefix}*`)).toHaveLength(2);
  });

  redisTest('RedisBloom_failedRebuildCleansUpAndKeepsTheLiveGeneration', async () => {
    const b = bloom(await client());
    await b.rebuild(items(['live']));
    const failing = (async function* () {
      yield 'x';
      throw new Error('database went away');
    })();
    await expect(b.rebuild(failing)).rejects.toThrow('database went away');
    expect(await b.mightContain('live')).toBe(true);
    expect(await b.mightContain('x')).toBe(false);
    expect(await admin.keys(`${prefix}*`)).toHaveLength(2); // lease, next pointer and new bitmap are gone
    await b.rebuild(items(['again'])); // the lease was released
    expect(await b.mightContain('again')).toBe(true);
  });

  redisTest('RedisBloom_growsCapacityWhenOverHalfFull', async () => {
    const b = bloom(await client(), { capacity: 100 });
    await b.rebuild(items(range(80, 'k')));
    const gen = () => admin.get(`${prefix}current`).then((raw) => JSON.parse(raw!));
    expect(await gen()).toMatchObject({ n: 100, grow: 160 });
    await b.rebuild(items(range(80, 'k')));
    expect(await gen()).toMatchObject({ n: 160, grow: 160 });
  });

  redisTest('RedisBloom_emptyRedisSaysMaybeAndAsksForRebuild', async () => {
    let asked = 0;
    const b = bloom(await client(), { onNeedsRebuild: () => asked++ });
    expect(await b.mightContain('anything')).toBe(true);
    expect(b.needsRebuild()).toBe(true);
    await waitFor(() => asked === 1);
    await b.add('x'); // goes nowhere, and does not throw
    expect(await b.mightContain('other')).toBe(true);
    expect(asked).toBe(1); // asks at most every askEveryMs
    await b.rebuild(items(['x']));
    expect(await b.mightContain('other')).toBe(false);
    expect(b.needsRebuild()).toBe(false);
  });

  redisTest('RedisBloom_onNeedsRebuildCanStartTheRebuildItself', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => void unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const gateways: RedisBloom[] = [];
      const onNeedsRebuild = (i: number) => () => gateways[i].rebuild(items(['k'])); // the losers reject with RebuildBusyError
      for (let i = 0; i < 3; i++) gateways.push(bloom(await client(), { onNeedsRebuild: onNeedsRebuild(i) }));
      await Promise.all(gateways.map((g) => g.mightContain('k')));
      await waitFor(async () => !(await gateways[0].mightContain('absent')));
      expect(await gateways[2].mightContain('k')).toBe(true);
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  redisTest('RedisBloom_redisCutThenRestored', async () => {
    const { proxy, redis } = await proxied();
    const warnings: unknown[] = [];
    const log = { info: () => {}, warn: (o: object) => void warnings.push(o), error: () => {} };
    let asked = 0;
    const a = bloom(redis, { log, onNeedsRebuild: () => asked++, askEveryMs: 0 });
    const other = bloom(await client()); // another gateway, which still reaches Redis
    await a.rebuild(items(['old']));
    expect(await a.mightContain('while-cut')).toBe(false);
    const errorsBefore = await errorCount();

    proxy.cut();
    const calls: (() => Promise<unknown>)[] = [() => a.add('while-cut'), () => a.mightContain('never-added'), () => a.add('also-cut'), () => a.mightContain('old')];
    for (const call of calls) {
      const { value, ms } = await timed(call);
      expect(ms).toBeLessThan(1000);
      if (value !== undefined) expect(value).toBe(true);
    }
    expect(await errorCount()).toBeGreaterThanOrEqual(errorsBefore + 4);
    expect(warnings).toHaveLength(1); // logged once per outage
    expect(a.needsRebuild()).toBe(true);

    proxy.restore();
    await waitFor(() => redis.status === 'ready');
    // The first thing a does once Redis answers: drop the generation that lacks its missed adds.
    expect(await a.mightContain('while-cut')).toBe(true);
    expect(await other.mightContain('while-cut')).toBe(true);
    expect(await other.mightContain('never-added')).toBe(true); // nobody trusts the filter until a rebuild
    expect(other.needsRebuild()).toBe(true);
    await waitFor(() => asked > 0);

    await a.rebuild(items(['old', 'while-cut', 'also-cut'])); // the same object recovers
    for (const k of ['while-cut', 'also-cut', 'old']) expect(await other.mightContain(k)).toBe(true);
    expect(await a.mightContain('never-added')).toBe(false);
    expect(a.needsRebuild()).toBe(false);
  });

  redisTest('RedisBloom_missedAddsDroppedAsSoonAsRedisIsBack', async () => {
    const { proxy, redis } = await proxied();
    const a = bloom(redis);
    const other = bloom(await client());
    await a.rebuild(items([]));
    proxy.cut();
    await a.add('while-cut');
    proxy.restore();
    // No call on a: its reconnect alone drops the shared generation, shrinking the window for the others.
    await waitFor(async () => (await admin.exists(`${prefix}current`)) === 0);
    expect(await other.mightContain('while-cut')).toBe(true);
  });

  test('hasBloomModule_readsModuleList', () => {
    expect(hasBloomModule([['name', 'bf', 'ver', 20612, 'path', '/usr/lib/redis/modules/redisbloom.so', 'args', []]])).toBe(true);
    expect(hasBloomModule([['name', 'ReBloom', 'ver', 999999]])).toBe(true);
    expect(hasBloomModule([['name', 'search', 'ver', 20809]])).toBe(false);
    expect(hasBloomModule([])).toBe(false);
  });
});
