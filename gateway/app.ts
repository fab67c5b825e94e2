import { createHash } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config';
import { buildServer } from './server';
import { BucketCache, type Services } from './services';
import { lockDataDir, rootCredentials, type RootCredentials } from './data-dir';
import { MetadataIdentity } from './auth/metadata-identity';
import { SecretBox } from './iam/secret-box';
import { IamCache } from './iam/iam-cache';
import { AccessControl } from './iam/authorize';
import { OidcVerifier } from './sts/oidc';
import { QuotaGuard } from './objects/quota';
import { GarbageCollector } from './objects/gc';
import { UploadExpiry } from './objects/upload-expiry';
import { LifecycleRunner } from './objects/lifecycle';
import { StoreObjectLayer } from './objects/store-layer';
import { openStores, type Stores } from './stores';
import { HashPool } from './body/hash-pool';
import { RepairJob } from './cluster/repair';
import { ChunkFilterUpkeep } from './cluster/chunk-filter';
import { metrics } from './metrics';
import { ensureBuiltinPolicies, registerAdmin } from './admin';
import { adminAuthorizer } from './admin/authorize-admin';

/** The canonical user id of the root account (S3 ids are 64 hex digits). */
export const ROOT_OWNER = createHash('sha256').update('rfs:root').digest('hex');

export interface Rfs {
  app: FastifyInstance;
  url: string;
  root: RootCredentials;
  services: Services;
  gc: GarbageCollector;
  lifecycle: LifecycleRunner;
  /** With storage nodes: the job that keeps every chunk at R copies. */
  repair?: RepairJob;
  objects: StoreObjectLayer;
  stores: Stores;
  close(): Promise<void>;
}

/**
 * Starts a gateway on the stores its configuration names (stores.ts): on the embedded default,
 * the PostgreSQL it supervises, one chunk directory and in-process filters, all under
 * `config.dataDir`; in a cluster, a shared database, Redis and chunk directory.
 */
export async function startRfs(config: Config): Promise<Rfs> {
  // Asynchronous, buffered stdout: a synchronous write per access-log line was the largest
  // single cost of a small request. Flushed on close.
  const logDestination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const log = pino({ level: config.logLevel, redact: ['req.headers.authorization'] }, logDestination);
  const unlock = lockDataDir(config.dataDir);
  let stores: Stores | undefined;
  try {
    stores = await openStores(config, log);
    const opened = stores;
    const { meta, chunks } = stores;
    const root = rootCredentials(config.dataDir, config.root);
    const box = SecretBox.load({ masterKey: config.masterKey, dataDir: config.dataDir });
    await box.verifyWith(meta.iam);
    await ensureBuiltinPolicies(meta.iam);
    const hashes = new HashPool(config.hashThreads);
    const objects = new StoreObjectLayer({ meta, chunks, filter: stores.keyFilter, config, hashes, log });
    const iam = new IamCache(meta.iam, stores.bus);
    const buckets = new BucketCache(meta, stores.bus);
    const services: Services = {
      config,
      meta,
      objects,
      identity: new MetadataIdentity(iam, box, { ...root, owner: ROOT_OWNER, displayName: 'root' }),
      buckets,
      access: new AccessControl(meta, buckets, iam),
      iam,
      box,
      oidc: config.oidc && new OidcVerifier(config.oidc),
      quota: new QuotaGuard(meta),
      log,
    };
    const app = buildServer(services, log);
    const gc = new GarbageCollector(meta, () => opened.chunkStores(), config.gcGraceMs, log, config.gcMbps);
    const lifecycle = new LifecycleRunner(meta, {
      dayMs: config.lifecycleDayMs, intervalMs: config.lifecycleIntervalMs, rowsPerSecond: config.lifecycleRowsPerSecond,
    }, log);
    const cluster = stores.cluster;
    const repair = cluster && new RepairJob(meta, cluster.membership, cluster.store, {
      mbps: config.repairMbps, rebalanceIntervalMs: config.rebalanceIntervalMs, extraCopyIdleMs: Math.min(config.gcGraceMs, 60_000), log,
    });
    const chunkFilter = cluster?.chunkFilter && new ChunkFilterUpkeep(cluster.chunkFilter, cluster.membership, log);
    metrics.replicas.set(cluster ? config.replicas : 1);
    registerAdmin(app, {
      services, bus: stores.bus, gc, lifecycle, cluster: cluster && repair && { ...cluster, repair },
      authorizeAdmin: adminAuthorizer(services), rootOwner: ROOT_OWNER,
    });
    const expiry = new UploadExpiry(meta, config.multipartMaxAgeMs, log);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    stores.whenFilterStale(() => objects.rebuildFilter());
    objects.startFilterUpkeep(config.filterRebuildMs);
    gc.start(config.gcIntervalMs);
    expiry.start(config.multipartSweepMs);
    lifecycle.start(config.lifecycleIntervalMs);
    repair?.start(config.repairIntervalMs, true);
    if (chunkFilter) {
      opened.whenChunkFilterStale(() => chunkFilter.runOnce());
      chunkFilter.start(config.filterRebuildMs, true);
    }
    return {
      app, url, root, services, gc, lifecycle, repair, objects, stores: opened,
      async close() {
        await chunkFilter?.stop();
        await repair?.stop();
        await objects.stop();
        await expiry.stop();
        await lifecycle.stop();
        await gc.stop();
        await app.close(); // in-flight requests finish first
        await hashes.close();
        await opened.close(); // the database last: the embedded PostgreSQL stops after the pool drains
        unlock();
        logDestination.flushSync();
      },
    };
  } catch (e) {
    await stores?.close();
    unlock();
    throw e;
  }
}
