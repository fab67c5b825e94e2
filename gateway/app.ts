import path from 'node:path';
import { createHash } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config';
import { buildServer } from './server';
import { BucketCache, objectFilterKey, type Services } from './services';
import { lockDataDir, rootCredentials, type RootCredentials } from './data-dir';
import { MetadataIdentity } from './auth/metadata-identity';
import { GarbageCollector } from './chunks/gc';
import { UploadExpiry } from './chunks/upload-expiry';
import { WorkerMetadataStore } from '../metadata/worker-store';
import { MemoryBloom } from '../metadata/bloom';
import type { MetadataStore } from '../metadata/store';
import { DiskChunkStore } from '../storage-node/disk-store';
import { HashPool } from './body/hash-pool';
import { Slots } from './chunks/slots';

/** The canonical user id of the root account (S3 ids are 64 hex digits). */
export const ROOT_OWNER = createHash('sha256').update('rfs:root').digest('hex');

export interface Rfs {
  app: FastifyInstance;
  url: string;
  root: RootCredentials;
  services: Services;
  gc: GarbageCollector;
  close(): Promise<void>;
}

/**
 * Starts rfs on the embedded default: PGlite metadata in a worker thread, one storage node
 * in process, in-process Bloom filters, all under `config.dataDir`.
 */
export async function startRfs(config: Config): Promise<Rfs> {
  // Asynchronous, buffered stdout: a synchronous write per access-log line was the largest
  // single cost of a small request. Flushed on close.
  const logDestination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const log = pino({ level: config.logLevel, redact: ['req.headers.authorization'] }, logDestination);
  const unlock = lockDataDir(config.dataDir);
  let meta: MetadataStore | undefined;
  try {
    meta = await WorkerMetadataStore.open(path.join(config.dataDir, 'meta'));
    const chunks = await DiskChunkStore.open(path.join(config.dataDir, 'chunks'));
    const root = rootCredentials(config.dataDir, config.root);
    const objectFilter = new MemoryBloom();
    const hashes = new HashPool(config.hashThreads);
    const services: Services = {
      config,
      meta,
      chunks,
      identity: new MetadataIdentity(meta, { ...root, owner: ROOT_OWNER, displayName: 'root' }),
      objectFilter,
      buckets: new BucketCache(meta),
      hashes,
      writeSlots: new Slots(config.writeSlots),
      log,
    };
    const app = buildServer(services, log);
    const gc = new GarbageCollector(meta, chunks, config.gcGraceMs, log);
    const expiry = new UploadExpiry(meta, config.multipartMaxAgeMs, log);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    // The filter is rebuilt from the database at start and then periodically, so keys
    // deleted since the last build stop costing a database read.
    const openMeta = meta;
    const rebuildFilter = () =>
      objectFilter.rebuild(allKeys(openMeta)).catch((e) => log.error({ err: e }, 'object filter rebuild failed'));
    void rebuildFilter();
    const filterTimer = setInterval(() => void rebuildFilter(), config.filterRebuildMs);
    filterTimer.unref();
    gc.start(config.gcIntervalMs);
    expiry.start(config.multipartSweepMs);
    return {
      app, url, root, services, gc,
      async close() {
        clearInterval(filterTimer);
        await expiry.stop();
        await gc.stop();
        await app.close(); // in-flight requests finish first
        await chunks.close();
        await hashes.close();
        await openMeta.close();
        unlock();
        logDestination.flushSync();
      },
    };
  } catch (e) {
    await meta?.close().catch(() => undefined);
    unlock();
    throw e;
  }
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
    for await (const key of keys) yield objectFilterKey(bucket.name, key);
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
