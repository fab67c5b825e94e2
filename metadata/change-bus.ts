import { Redis } from 'ioredis';
import { Log, redisErrors } from './redis-bloom';

type Handler = (message: string) => void;

/**
 * Tells every gateway that something it may cache (a bucket's versioning, CORS, later policies)
 * changed, so it drops its copy. Delivery is best effort; `onResync` covers what may have been lost.
 */
export interface ChangeBus {
  /** Never throws: a change is committed before it is announced, and announcing must not fail it. */
  publish(topic: string, message: string): Promise<void>;
  subscribe(topic: string, handler: Handler): void;
  /** Called when invalidations may have been missed: drop everything cached. Every cache must register one. */
  onResync(callback: () => void): void;
  close(): Promise<void>;
}

function deliver(handlers: Iterable<Handler> | undefined, message: string, log?: Log): void {
  for (const handler of handlers ?? []) {
    try {
      handler(message);
    } catch (err) {
      log?.error({ err }, 'change bus: a handler threw');
    }
  }
}

/** One process (embedded mode): handlers run before publish resolves, and nothing is ever missed. */
export class MemoryChangeBus implements ChangeBus {
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(private readonly log?: Log) {}

  async publish(topic: string, message: string): Promise<void> {
    deliver(this.handlers.get(topic), message, this.log);
  }

  subscribe(topic: string, handler: Handler): void {
    this.handlers.set(topic, (this.handlers.get(topic) ?? new Set()).add(handler));
  }

  onResync(): void {}

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

/**
 * Redis pub/sub between gateways. Subscribing takes a connection of its own (a subscribed connection
 * runs nothing else), duplicated from `redis`, which stays the caller's. Pub/sub keeps nothing for a
 * disconnected subscriber, so after its reconnection every onResync callback runs; and a publisher that
 * failed to publish broadcasts a resync to every gateway as soon as Redis is reachable again.
 */
export class RedisChangeBus implements ChangeBus {
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Set<Handler>>(); // by channel
  private readonly resyncs = new Set<() => void>();
  private readonly prefix: string;
  private readonly resyncChannel: string;
  private subscribed: Promise<unknown>; // the latest SUBSCRIBEs, chained
  private missedPublish = false;
  private down = false;

  constructor(private readonly redis: Redis, private readonly opts: { prefix?: string; log?: Log } = {}) {
    this.prefix = opts.prefix ?? 'rfs:bus:';
    this.resyncChannel = `${this.prefix}resync`;
    this.sub = redis.duplicate({ autoResubscribe: false }); // onSubscriberReady does it, then resyncs
    this.sub.on('error', () => {});
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.resyncChannel) this.resync();
      else deliver(this.handlers.get(channel), message, opts.log);
    });
    this.subscribed = new Promise((resolve) => this.sub.once('ready', resolve));
    this.sub.on('ready', this.onSubscriberReady);
    redis.on('ready', this.onPublisherReady);
    void this.sub.connect().catch(() => {}); // it keeps retrying
  }

  async publish(topic: string, message: string): Promise<void> {
    try {
      await this.redis.publish(this.channel(topic), message);
      this.healthy();
      if (this.missedPublish) await this.broadcastResync();
    } catch (err) {
      this.failed('publish', err);
      this.missedPublish = true;
      deliver(this.handlers.get(this.channel(topic)), message, this.opts.log); // this gateway, at least, hears it
    }
  }

  subscribe(topic: string, handler: Handler): void {
    const channel = this.channel(topic);
    if (!this.handlers.has(channel) && this.sub.status === 'ready') this.track(this.sub.subscribe(channel));
    this.handlers.set(channel, (this.handlers.get(channel) ?? new Set()).add(handler));
  }

  onResync(callback: () => void): void {
    this.resyncs.add(callback);
  }

  /** Resolves once connected and every subscription asked for so far is active (publishes before that are not heard). */
  async ready(): Promise<void> {
    let seen;
    do await (seen = this.subscribed);
    while (seen !== this.subscribed);
  }

  /** Closes the subscriber connection; the publishing client is the caller's to close. */
  async close(): Promise<void> {
    this.redis.off('ready', this.onPublisherReady);
    this.sub.disconnect();
  }

  private channel(topic: string): string {
    return `${this.prefix}topic:${topic}`;
  }

  private track(subscription: Promise<unknown>): void {
    this.subscribed = Promise.all([this.subscribed, subscription.catch((err) => this.failed('subscribe', err))]);
  }

  /** On every connection: subscribe (again), then resync, so that nothing falls between the two. */
  private readonly onSubscriberReady = () => {
    this.track(this.sub.subscribe(this.resyncChannel, ...this.handlers.keys()).then(() => this.resync()));
  };

  private readonly onPublisherReady = () => {
    if (this.missedPublish) void this.broadcastResync();
  };

  private async broadcastResync(): Promise<void> {
    this.missedPublish = false;
    try {
      await this.redis.publish(this.resyncChannel, '');
    } catch (err) {
      this.missedPublish = true;
      this.failed('publish', err);
    }
  }

  private resync(): void {
    for (const callback of this.resyncs) deliver([callback], '', this.opts.log);
  }

  private healthy(): void {
    if (this.down) this.opts.log?.info({}, 'change bus: Redis reachable again');
    this.down = false;
  }

  private failed(op: string, err: unknown): void {
    redisErrors.inc({ op });
    if (!this.down) this.opts.log?.warn({ err, op }, 'change bus: Redis call failed; caches resync when it is back');
    this.down = true;
  }
}
