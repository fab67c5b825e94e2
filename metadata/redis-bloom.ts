import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hashing } from 'bloom-filters';
// BloomFilter.create's own sizing; not re-exported from the root. Spares allocating m bits to read m and k.
import { optimalFilterSize, optimalHashes } from 'bloom-filters/dist/formulas';
import { Redis, RedisOptions } from 'ioredis';
import { Counter } from 'prom-client';
import type { Bloom } from './bloom';

/** The pino subset Redis-backed parts log through. */
export type Log = Record<'info' | 'warn' | 'error', (obj: object, msg?: string) => void>;

/** Failed Redis calls by operation. Registered nowhere: the gateway adds it to its own registry. */
export const redisErrors = new Counter({ name: 'rfs_redis_errors_total', help: 'Failed Redis calls by operation', labelNames: ['op'], registers: [] });

/**
 * An ioredis client (`redis://host:port/db`) that fails fast instead of queueing: with Redis
 * unreachable a command is rejected at once (or after `commandTimeout` on a black-holed link), so
 * a HEAD never waits on Redis. It keeps reconnecting in the background, at least once a second.
 * Resolves once connected, or after one failed attempt (the client then serves degraded and retries).
 */
export async function createRedisClient(url: string, overrides: Partial<RedisOptions> = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true, // so that the first commands need not race the connection
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0, // in-flight commands fail when the connection drops...
    autoResendUnfulfilledCommands: false, // ...and are not replayed later
    commandTimeout: 500,
    connectTimeout: 1000,
    disconnectTimeout: 200, // else disconnecting a client whose socket already died keeps a 2 s timer
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    ...overrides,
  });
  client.on('error', () => {}); // failures surface as rejected commands, which their callers log once per outage
  await client.connect().catch(() => {});
  return client;
}

/** Another gateway holds the rebuild lease; its rebuild will do. Also thrown when a rebuild
 * was superseded (its lease lost, or the filter dropped after missed adds): a later one redoes it. */
export class RebuildBusyError extends Error {
  override message = 'a Bloom filter rebuild is already running';
}

/** Is the RedisBloom module loaded? `reply` is the answer to MODULE LIST. */
export function hasBloomModule(reply: unknown): boolean {
  return Array.isArray(reply) && reply.some((m) => Array.isArray(m) && /^(bf|rebloom)$/i.test(String(m[m.indexOf('name') + 1])));
}

/** A generation, as its pointer stores it: m bits probed k times (or a module filter), sized for n items. */
type Gen = { id: string; type: 'bits' | 'bf'; n: number; m: number; k: number; grow?: number /* n of the next rebuild */ };
const parseGen = (raw: string): Gen | undefined => (raw ? (JSON.parse(raw) as Gen) : undefined);
const SEED = 0x1234567890; // bloom-filters' default seed, pinned: every gateway must probe the same bits

// Why Lua (defineCommand: EVALSHA, one round trip): the bitmaps an add touches depend on which generations
// are live; a script reads the pointers and sets the bits atomically, a pipeline cannot make its SETBITs
// depend on a GET, MULTI needs WATCH (more round trips). If the caller's cached pointers are stale, the script
// returns the real ones; the caller recomputes the bit indexes (they depend on m, k) and retries, once per swap.
const SCRIPTS = {
  // KEYS current next curBits nextBits; ARGV expCur expNext item, then per generation n and n bit indexes (n = 0: module)
  rfsBloomAdd: [4, `local cur, nxt = redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or ''
if cur ~= ARGV[1] or nxt ~= ARGV[2] then return {cur, nxt} end
local i = 4
for g = 1, 2 do
  local n = tonumber(ARGV[i])
  if ARGV[g] ~= '' and n == 0 then redis.call('BF.ADD', KEYS[g + 2], ARGV[3]) end
  for j = i + 1, i + (ARGV[g] == '' and 0 or n) do redis.call('SETBIT', KEYS[g + 2], ARGV[j], 1) end
  i = i + n + 1
end
return 1`],
  // KEYS current curBits; ARGV expCur item bit-indexes... → {cur}: stale, -1: no live generation, 0: absent, 1: maybe
  rfsBloomTest: [2, `local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return {cur} end
if cur == '' or redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if #ARGV == 2 then return redis.call('BF.EXISTS', KEYS[2], ARGV[2]) end
for j = 3, #ARGV do if redis.call('GETBIT', KEYS[2], ARGV[j]) == 0 then return 0 end end
return 1`],
  // KEYS current next; ARGV genPrefix: forget both generations, so that every gateway answers "maybe"
  rfsBloomDrop: [2, `for i = 1, 2 do local v = redis.call('GET', KEYS[i]); if v then redis.call('UNLINK', ARGV[1] .. cjson.decode(v).id, KEYS[i]) end end`],
  // KEYS lease next bits; ARGV token gen leaseMs m errorRate n type. The new bitmap expires unless renewed.
  rfsBloomStart: [3, `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('bloom rebuild lease lost') end
redis.call('DEL', KEYS[3])
if ARGV[7] == 'bf' then redis.call('BF.RESERVE', KEYS[3], ARGV[5], ARGV[6]) else redis.call('SETBIT', KEYS[3], ARGV[4] - 1, 0) end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])`],
  // KEYS lease next bits; ARGV token gen leaseMs, then bit indexes (or, for a module filter, items): a batch, renewing the lease
  rfsBloomFill: [3, `if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return redis.error_reply('bloom rebuild superseded: lease lost or generations dropped') end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
if cjson.decode(ARGV[2]).type == 'bf' then return redis.call('BF.MADD', KEYS[3], unpack(ARGV, 4)) end
for j = 4, #ARGV do redis.call('SETBIT', KEYS[3], ARGV[j], 1) end`],
  // KEYS lease next current bits; ARGV token gen liveGen genPrefix
  rfsBloomSwap: [4, `if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] or redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('bloom rebuild superseded: lease lost or generations dropped')
end
local old = redis.call('GET', KEYS[3])
if old then redis.call('UNLINK', ARGV[4] .. cjson.decode(old).id) end
redis.call('PERSIST', KEYS[4])
redis.call('SET', KEYS[3], ARGV[3])
return redis.call('DEL', KEYS[1], KEYS[2])`],
  // KEYS lease next bits; ARGV token gen: undo a failed rebuild. (If its swap ran but the reply was lost, this
  // deletes the live bitmap: mightContain then finds none and says "maybe" until the next rebuild.)
  rfsBloomAbort: [3, `if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return redis.call('UNLINK', KEYS[3])`],
} satisfies Record<string, [number, string]>;
type Scripts = Record<keyof typeof SCRIPTS, (...args: (string | number)[]) => Promise<unknown>>;

export interface RedisBloomOptions {
  redis: Redis; // owned by the caller, who closes it
  prefix: string; // one filter per prefix; add a {hash tag} for Redis Cluster
  capacity?: number; // 100_000
  errorRate?: number; // 0.01
  log?: Log;
  onNeedsRebuild?: () => unknown; // while no generation is live, at most every askEveryMs: start rebuild() (may return its promise)
  askEveryMs?: number; // 30 s
  leaseMs?: number; // 30 s, renewed by every batch: reading one batch of items must take less
  batchSize?: number; // 1000 items per round trip
  settleMs?: number; // 2 s, see rebuild()
}

/**
 * A Bloom filter shared by every gateway. `<prefix>current` names the live generation; a rebuild
 * fills the one `<prefix>next` names while adds go to both, then swaps. add and mightContain never
 * throw: Redis unreachable means "maybe", so Redis down costs database reads, never failed writes.
 *
 * An add missed while Redis was unreachable is made safe when Redis answers again: before trusting
 * the filter, this gateway drops both generations, so everyone says "maybe" until a rebuild. Windows
 * this leaves open: while only this gateway cannot reach Redis, the others still trust a filter that
 * lacks its keys (until it reconnects, or for good if it dies first); and a rebuild misses a row whose
 * add failed, or went only to the old generation, if the row commits more than `settleMs` after the
 * rebuild announced itself (the object layer should add right before it commits).
 */
export class RedisBloom implements Bloom {
  private readonly scripts: Scripts; // the client, with SCRIPTS defined on it
  private readonly hashing = new Hashing();
  private readonly key: { current: string; next: string; lease: string; gen: string };
  private raws = ['', '']; // cached pointers (current, next) the scripts check
  private misses = 0; // failed adds, and how many of them a drop has covered
  private dropped = 0;
  private recovering?: Promise<boolean>;
  private needs = false;
  private askedAt = -Infinity;
  private down = false;
  private readonly onReady = () => void (this.misses !== this.dropped && this.recover());
  private readonly bitsKey = (gen?: Gen) => this.key.gen + (gen?.id ?? '');

  constructor(private readonly opts: RedisBloomOptions) {
    const p = opts.prefix;
    this.key = { current: `${p}current`, next: `${p}next`, lease: `${p}lease`, gen: `${p}gen:` };
    for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) opts.redis.defineCommand(name, { numberOfKeys, lua });
    this.scripts = opts.redis as unknown as Scripts;
    opts.redis.on('ready', this.onReady);
  }

  /** True while the filter is not trusted: no live generation was found, or missed adds are not yet dropped. */
  needsRebuild(): boolean {
    return this.needs || this.misses !== this.dropped;
  }

  async add(item: string): Promise<void> {
    try {
      if (this.misses !== this.dropped && !(await this.recover())) return void this.misses++;
      for (let attempt = 0; attempt < 3; attempt++) {
        const [cur, nxt] = this.raws.map(parseGen);
        const keys = [this.key.current, this.key.next, this.bitsKey(cur), this.bitsKey(nxt)];
        const reply = await this.scripts.rfsBloomAdd(...keys, ...this.raws, item, ...this.probes(cur, item), ...this.probes(nxt, item));
        if (!Array.isArray(reply)) return this.healthy();
        this.raws = reply;
      }
      throw new Error('Bloom generations kept changing under add');
    } catch (err) {
      this.misses++;
      this.failed('add', err);
    }
  }

  async mightContain(item: string): Promise<boolean> {
    try {
      if (this.misses !== this.dropped && !(await this.recover())) return true;
      for (let attempt = 0; attempt < 3; attempt++) {
        const cur = parseGen(this.raws[0]);
        const reply = await this.scripts.rfsBloomTest(this.key.current, this.bitsKey(cur), this.raws[0], item, ...this.probes(cur, item).slice(1));
        if (Array.isArray(reply)) {
          this.raws[0] = reply[0];
          continue;
        }
        this.healthy();
        if ((this.needs = reply === -1)) this.askForRebuild();
        return reply !== 0;
      }
      return true;
    } catch (err) {
      this.failed('mightContain', err);
      return true;
    }
  }

  /**
   * Builds a generation holding exactly `items` plus whatever is added meanwhile, and makes it live.
   * One gateway rebuilds at a time (a lease, renewed by every batch); the others get RebuildBusyError.
   * `items` must be lazy: the first one is asked for `settleMs` after adds start reaching the new
   * generation, so that rows whose adds went only to the old one have committed before the scan.
   * Items go to Redis in batches of `batchSize` (one round trip each), so memory stays flat.
   */
  async rebuild(items: AsyncIterable<string>): Promise<number> {
    const { key, opts } = this;
    const { redis, leaseMs = 30_000, errorRate = 0.01, capacity = 100_000, settleMs = 2000, batchSize = 1000 } = opts;
    const n = Math.max(capacity, parseGen((await redis.get(key.current)) ?? '')?.grow ?? 0);
    const type = hasBloomModule(await redis.call('MODULE', 'LIST').catch(() => [])) ? 'bf' : 'bits';
    const m = optimalFilterSize(n, errorRate);
    const gen: Gen = { id: randomBytes(8).toString('hex'), type, n, m, k: optimalHashes(m, n) };
    const [raw, token] = [JSON.stringify(gen), randomUUID()];
    const leaseKeys = [key.lease, key.next, this.bitsKey(gen)];
    if ((await redis.set(key.lease, token, 'PX', leaseMs, 'NX')) !== 'OK') throw new RebuildBusyError();
    try {
      await this.scripts.rfsBloomStart(...leaseKeys, token, raw, leaseMs, gen.m, errorRate, gen.n, gen.type);
      await sleep(settleMs);
      let batch: string[] = [];
      let count = 0;
      const flush = async () => {
        const args = type === 'bf' ? batch : batch.flatMap((item) => this.probes(gen, item).slice(1));
        await this.scripts.rfsBloomFill(...leaseKeys, token, raw, leaseMs, ...args);
        batch = [];
      };
      for await (const item of items) {
        count++;
        if (batch.push(item) >= batchSize) await flush();
      }
      if (batch.length) await flush();
      const live = JSON.stringify({ ...gen, grow: count > n / 2 ? count * 2 : n });
      await this.scripts.rfsBloomSwap(key.lease, key.next, key.current, leaseKeys[2], token, raw, live, key.gen);
      return count;
    } catch (err) {
      await this.scripts.rfsBloomAbort(...leaseKeys, token, raw).catch(() => {}); // else the TTLs clean up
      throw /superseded/.test((err as Error)?.message ?? '') ? new RebuildBusyError() : err;
    }
  }

  /** Detaches from the client (which the caller owns and closes). */
  close(): void {
    this.opts.redis.off('ready', this.onReady);
  }

  /** Drops both generations after missed adds (one drop at a time). True if no add was missed meanwhile. */
  private recover(): Promise<boolean> {
    return (this.recovering ??= this.drop().finally(() => (this.recovering = undefined)));
  }

  private async drop(): Promise<boolean> {
    const upTo = this.misses;
    try {
      await this.scripts.rfsBloomDrop(this.key.current, this.key.next, this.key.gen);
    } catch (err) {
      this.failed('recover', err);
      return false;
    }
    [this.dropped, this.raws, this.needs] = [upTo, ['', ''], true];
    this.healthy();
    this.opts.log?.warn({ prefix: this.opts.prefix }, 'bloom: adds were missed while Redis was unreachable; dropped the shared filter until a rebuild');
    this.askForRebuild();
    return this.misses === this.dropped;
  }

  private askForRebuild(): void {
    if (!this.opts.onNeedsRebuild || Date.now() - this.askedAt < (this.opts.askEveryMs ?? 30_000)) return;
    this.askedAt = Date.now();
    // A rejection (say, the rebuild it starts fails) must not become an unhandled one.
    Promise.resolve()
      .then(this.opts.onNeedsRebuild)
      .catch((err) => err instanceof RebuildBusyError || this.opts.log?.warn({ err }, 'bloom: rebuild on demand failed'));
  }

  /** A generation's share of the scripts' ARGV: how many bit indexes (0 for a module filter), then them. */
  private probes(gen: Gen | undefined, item: string): number[] {
    const idx = gen?.type === 'bits' ? this.hashing.getIndexes(item, gen.m, gen.k, SEED) : [];
    return [idx.length, ...idx];
  }

  private healthy(): void {
    if (this.down) this.opts.log?.info({ prefix: this.opts.prefix }, 'bloom: Redis reachable again');
    this.down = false;
  }

  private failed(op: string, err: unknown): void {
    redisErrors.inc({ op });
    if (!this.down) this.opts.log?.warn({ err, op, prefix: this.opts.prefix }, 'bloom: Redis call failed; answering "maybe" until it is back');
    this.down = true;
  }
}
