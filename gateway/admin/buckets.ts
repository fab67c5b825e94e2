import type { FastifyInstance } from 'fastify';
import { MetadataError, type Bucket, type BucketUsage, type MetadataStore } from '../../metadata/store';
import { mapLimited } from '../../storage-node/map-limited';
import type { AdminDeps } from './index';
import { badRequest, notFound, onlyFields, readJson } from './http';

/** Usage is a scan per bucket: a listing runs a few at a time, not one per bucket at once. */
const USAGE_CONCURRENCY = 4;

/** Owner ids → user names, looked up once per call. */
function ownerNames(deps: AdminDeps): (id: string) => Promise<string | undefined> {
  const known = new Map<string, Promise<string | undefined>>();
  return (id) => {
    if (id === deps.rootOwner) return Promise.resolve('root');
    let name = known.get(id);
    if (!name) {
      name = deps.services.meta.iam.getUserById(id).then((u) => u?.name);
      known.set(id, name);
    }
    return name;
  };
}

/** Undefined when the bucket went away meanwhile. */
async function usageOf(meta: MetadataStore, bucket: string): Promise<BucketUsage | undefined> {
  try {
    return await meta.bucketUsage(bucket);
  } catch (e) {
    if (e instanceof MetadataError && e.code === 'NoSuchBucket') return undefined;
    throw e;
  }
}

async function bucketView(deps: AdminDeps, bucket: Bucket, ownerName: (id: string) => Promise<string | undefined>) {
  return {
    name: bucket.name,
    owner: bucket.owner,
    ownerName: (await ownerName(bucket.owner)) ?? null,
    region: bucket.region,
    createdAt: bucket.createdAt.toISOString(),
    versioning: bucket.versioning ?? 'Off',
    quotaBytes: bucket.quotaBytes ?? null,
    usage: (await usageOf(deps.services.meta, bucket.name)) ?? null,
  };
}

export function registerBucketRoutes(admin: FastifyInstance, deps: AdminDeps): void {
  const { meta } = deps.services;
  type Params = { Params: { name: string } };

  admin.get('/buckets', async () => {
    const names = ownerNames(deps);
    return { buckets: await mapLimited(await meta.listBuckets(), USAGE_CONCURRENCY, (b) => bucketView(deps, b, names)) };
  });

  const requireBucket = async (name: string) => {
    const bucket = await meta.getBucket(name);
    if (!bucket) throw notFound('NoSuchBucket', `no bucket ${name}`);
    return bucket;
  };

  admin.get<Params>('/buckets/:name', async (request) => bucketView(deps, await requireBucket(request.params.name), ownerNames(deps)));

  /** Through the bucket cache, so every gateway drops its copy and enforces the new quota at
   * once. (A bucket deleted meanwhile is the store's NoSuchBucket, 404 too.) */
  admin.put<Params>('/buckets/:name/quota', async (request) => {
    const body = await readJson(request);
    onlyFields(body, ['bytes']);
    const bytes = body.bytes;
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0) {
      throw badRequest('InvalidInput', 'bytes must be a whole number of bytes above 0');
    }
    await requireBucket(request.params.name);
    await deps.services.buckets.update(request.params.name, { quotaBytes: bytes });
    return { name: request.params.name, quotaBytes: bytes };
  });

  admin.delete<Params>('/buckets/:name/quota', async (request) => {
    await requireBucket(request.params.name);
    await deps.services.buckets.update(request.params.name, { quotaBytes: null });
    return { name: request.params.name, quotaBytes: null };
  });
}
