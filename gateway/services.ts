import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config';
import type { MetadataStore, Bucket } from '../metadata/store';
import type { ChunkStore } from '../storage-node/chunk-store';
import type { Bloom } from '../metadata/bloom';
import type { Identity, Credential } from './auth/identity';
import type { PayloadAuth } from './auth';
import type { Target } from './s3/addressing';
import { S3Error } from './s3/errors';
import type { HashPool } from './body/hash-pool';
import type { Slots } from './chunks/slots';

/** What the handlers work with: the interfaces at the seams, nothing concrete. */
export interface Services {
  config: Config;
  meta: MetadataStore;
  chunks: ChunkStore;
  identity: Identity;
  /** "Definitely absent" answers for bucket/key pairs. */
  objectFilter: Bloom;
  buckets: BucketCache;
  /** Chunk writes in flight across all uploads. */
  writeSlots: Slots;
  /** Worker threads for MD5/SHA of large bodies, off the main thread. */
  hashes: HashPool;
  log: FastifyBaseLogger;
}

/** One authenticated S3 request, as handlers see it. */
export interface S3Call {
  services: Services;
  target: Target;
  caller: Credential;
  payload: PayloadAuth;
  request: FastifyRequest;
  reply: FastifyReply;
}

export function objectFilterKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

/**
 * Bucket lookups with a short positive cache: every object request needs its bucket, and
 * buckets change rarely. A stale entry can only make a request to a just-deleted (hence
 * empty) bucket answer NoSuchKey instead of NoSuchBucket.
 */
export class BucketCache {
  private readonly cache = new Map<string, { bucket: Bucket; until: number }>();

  constructor(private readonly meta: MetadataStore, private readonly ttlMs = 2000) {}

  async get(name: string): Promise<Bucket | undefined> {
    const hit = this.cache.get(name);
    if (hit && hit.until > Date.now()) return hit.bucket;
    const bucket = await this.meta.getBucket(name);
    if (bucket) this.cache.set(name, { bucket, until: Date.now() + this.ttlMs });
    else this.cache.delete(name);
    return bucket;
  }

  forget(name: string): void {
    this.cache.delete(name);
  }

  /** The bucket, if it exists and the caller owns it (policies, a later issue, widen this). */
  async require(name: string, caller: Credential): Promise<Bucket> {
    const bucket = await this.get(name);
    if (!bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: name });
    if (bucket.owner !== caller.owner) throw new S3Error('AccessDenied');
    return bucket;
  }
}
