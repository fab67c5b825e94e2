import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config';
import type { MetadataStore, Bucket, BucketPatch } from '../metadata/store';
import type { ChangeBus } from '../metadata/change-bus';
import type { Identity, Credential } from './auth/identity';
import type { PayloadAuth } from './auth';
import type { Target } from './s3/addressing';
import type { ObjectLayer } from './objects/layer';
import type { AccessControl, RequestFacts } from './iam/authorize';
import type { IamCache } from './iam/iam-cache';
import type { SecretBox } from './iam/secret-box';
import type { OidcVerifier } from './sts/oidc';
import type { QuotaGuard } from './objects/quota';

/** What the handlers work with: the interfaces at the seams, nothing concrete. */
export interface Services {
  config: Config;
  /** For what is metadata only (buckets, tags, listings, lookups); see ObjectLayer. */
  meta: MetadataStore;
  /** Everything that stores or reads object bytes, or adds or removes versions. */
  objects: ObjectLayer;
  identity: Identity;
  buckets: BucketCache;
  /** The one access decision (gateway/iam/authorize.ts). */
  access: AccessControl;
  /** Users, keys and policies, cached and compiled. */
  iam: IamCache;
  /** Seals stored secrets and STS session tokens. */
  box: SecretBox;
  /** Holds buckets to their quotas. */
  quota: QuotaGuard;
  /** Verifies Keycloak (OpenID Connect) tokens for STS; absent when none is configured. */
  oidc?: OidcVerifier;
  log: FastifyBaseLogger;
}

const BUCKETS_TOPIC = 'buckets';

/** One authenticated S3 request, as handlers see it. */
export interface S3Call {
  services: Services;
  target: Target;
  /** Undefined for an anonymous request. */
  caller: Credential | undefined;
  /** The target bucket, loaded by authorize() for bucket and object actions (see BucketCall);
   * undefined for ListBuckets and CreateBucket. */
  bucket: Bucket | undefined;
  payload: PayloadAuth;
  /** The same access check as the route's, for what the route does not name: a copy's
   * source, each key of DeleteObjects, a form upload's key. Returns that bucket. */
  authorize(action: string, bucket: string, key?: string, versionId?: string): Promise<Bucket>;
  /** What policies' conditions may ask about the request. */
  facts: RequestFacts;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** A request to a bucket or an object: authorize() has loaded its bucket. */
export interface BucketCall extends S3Call {
  bucket: Bucket;
}

/**
 * Bucket lookups with a short positive cache: every object request needs its bucket, and
 * buckets change rarely. A change made through any gateway is announced on the change bus, so
 * every gateway drops its copy at once (Redis pub/sub between gateways); the TTL only bounds
 * how stale a copy can get when an announcement is lost. A stale entry can only make a request
 * to a just-deleted (hence empty) bucket answer NoSuchKey instead of NoSuchBucket.
 */
export class BucketCache {
  private readonly cache = new Map<string, { bucket: Bucket; until: number }>();

  constructor(private readonly meta: MetadataStore, private readonly bus: ChangeBus, private readonly ttlMs = 2000) {
    bus.subscribe(BUCKETS_TOPIC, (name) => this.cache.delete(name));
    bus.onResync(() => this.cache.clear());
  }

  async get(name: string): Promise<Bucket | undefined> {
    const hit = this.cache.get(name);
    if (hit && hit.until > Date.now()) return hit.bucket;
    const bucket = await this.meta.getBucket(name);
    if (bucket) this.cache.set(name, { bucket, until: Date.now() + this.ttlMs });
    else this.cache.delete(name);
    return bucket;
  }

  /** Changes a bucket's settings and tells every gateway. */
  async update(name: string, patch: BucketPatch): Promise<void> {
    await this.meta.updateBucket(name, patch);
    await this.changed(name);
  }

  /** Deletes a bucket (BucketNotEmpty unless it is) and tells every gateway. */
  async delete(name: string): Promise<void> {
    await this.meta.deleteBucket(name);
    await this.changed(name);
  }

  /** Drops this gateway's copy, so the next lookup reads the database. */
  forget(name: string): void {
    this.cache.delete(name);
  }

  /** Drops every gateway's copy of the bucket, this one's first. */
  async changed(name: string): Promise<void> {
    this.cache.delete(name);
    await this.bus.publish(BUCKETS_TOPIC, name);
  }
}
