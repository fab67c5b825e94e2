import type { FastifyBaseLogger } from 'fastify';
import type { Bloom } from '../../metadata/bloom';
import type { MetadataStore } from '../../metadata/store';
import { Periodic } from './periodic';
import { RebuildBusyError } from '../../metadata/redis-bloom';

/** A Bloom filter that can be refilled from the database: the in-process one, or the shared
 * one in Redis. All the key filter needs of either. */
export type RebuildableBloom = Bloom & { rebuild(items: AsyncIterable<string>): Promise<number> };

/**
 * The object key filter: "definitely absent" answers for bucket/key pairs, so a miss (HEAD
 * probes, If-None-Match: * writes) costs no database read. A key enters before its row
 * commits, so no gateway answers "absent" for a committed key. The filter is rebuilt from
 * the database (`start(interval, true)`: at once, then periodically), so keys deleted since
 * the last build stop costing a read; one rebuild at a time, since two interleaved would
 * each swap in a filter the other's adds may have missed.
 */
export class KeyFilter extends Periodic<number> {
  constructor(
    private readonly bloom: RebuildableBloom,
    private readonly meta: MetadataStore,
    log?: FastifyBaseLogger,
  ) {
    super('object filter rebuild', log);
  }

  /** Before a commit that makes the key's newest version readable (object or delete marker). */
  add(bucket: string, key: string): Promise<void> {
    return this.bloom.add(filterItem(bucket, key));
  }

  /** False only when the key has no current version in the bucket. */
  mightContain(bucket: string, key: string): Promise<boolean> {
    return this.bloom.mightContain(filterItem(bucket, key));
  }

  /** One rebuild; resolves with the number of keys. A failed one leaves the old filter; one
   * that another gateway is already doing for the shared filter is left to it. */
  protected async run(): Promise<number> {
    try {
      return await this.bloom.rebuild(allKeys(this.meta));
    } catch (e) {
      if (e instanceof RebuildBusyError) return 0;
      throw e;
    }
  }
}

function filterItem(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

/**
 * Every bucket/key pair the filter must hold, page by page, for rebuilding it: each key with
 * a current version. In a bucket that has had versioning, that is each key's newest version,
 * delete markers included, so a GET of a deleted key reaches the store and answers with
 * x-amz-delete-marker as S3 does (a never-versioned bucket has no markers to list).
 */
async function* allKeys(meta: MetadataStore): AsyncGenerator<string> {
  for (const bucket of await meta.listBuckets()) {
    const keys = bucket.versioning ? newestVersionKeys(meta, bucket.name) : currentKeys(meta, bucket.name);
    for await (const key of keys) yield filterItem(bucket.name, key);
  }
}

async function* currentKeys(meta: MetadataStore, bucket: string): AsyncGenerator<string> {
  let after = '';
  for (;;) {
    const page = await meta.listObjects({ bucket, prefix: '', delimiter: '', after, maxKeys: 1000 });
    for (const o of page.objects) yield o.key;
    if (!page.isTruncated || page.last === undefined) return;
    after = page.last;
  }
}

async function* newestVersionKeys(meta: MetadataStore, bucket: string): AsyncGenerator<string> {
  let keyMarker = '';
  let versionIdMarker = '';
  for (;;) {
    const page = await meta.listVersions({ bucket, prefix: '', delimiter: '', keyMarker, versionIdMarker, maxKeys: 1000 });
    for (const v of page.versions) if (v.isLatest) yield v.key;
    if (!page.isTruncated || page.nextKeyMarker === undefined) return;
    keyMarker = page.nextKeyMarker;
    versionIdMarker = page.nextVersionIdMarker ?? '';
  }
}
