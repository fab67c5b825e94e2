import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { ClusterStore } from '../metadata/cluster-store';
import { PgClient } from '../metadata/pg-client';
import { migrate } from '../metadata/schema';
import type { NodeConfig } from './config';
import { DiskChunkStore } from './disk-store';
import { metrics } from './metrics';
import { scrubPass, type ScrubReport } from './scrub';
import { ClusterJob } from '../metadata/cluster-job';
import { buildNodeServer, type NodeServer } from './server';

export interface StorageNode {
  id: string;
  url: string;
  server: NodeServer;
  store: DiskChunkStore;
  /** Runs one scrub pass now (tests; the node runs them every scrub interval); undefined if
   * another process holds this node's scrub lease. */
  scrub(): Promise<ScrubReport | undefined>;
  stop(): Promise<void>;
}

/**
 * One storage node: its chunk directory served over HTTP (server.ts), registered in the
 * membership table and heartbeating there with its free space, and scrubbing its own disk.
 * The metadata store is used for nothing else: a node never reads objects or buckets.
 */
export async function startStorageNode(config: NodeConfig, log: Logger = pino({ level: config.logLevel })): Promise<StorageNode> {
  await mkdir(config.dir, { recursive: true });
  const id = config.id ?? (await persistentId(config.dir));
  const db = new PgClient(config.databaseUrl, 2);
  const cleanup: (() => Promise<unknown>)[] = [() => db.close()];
  const undo = async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  };
  try {
    await migrate(db);
    const cluster = new ClusterStore(db);
    const store = await DiskChunkStore.open(path.join(config.dir, 'chunks'));
    cleanup.push(() => store.close());
    const queueRepair = (address: string, why: string) =>
      cluster.queueRepair([address], `${why} on node ${id}`).catch((e: unknown) => log.error({ err: e, address }, 'could not queue a corrupt chunk for repair'));
    const server = await buildNodeServer({
      store, secret: config.secret, id, zone: config.zone, capacityBytes: config.capacityBytes, log,
      onCorrupt: (address) => void queueRepair(address, 'read found it corrupt'),
    });
    cleanup.push(() => server.close());
    await server.app.listen({ host: config.host, port: config.port });
    const address = server.app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = config.url ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

    const beat = async () => {
      const s = await server.status();
      await cluster.heartbeat({ id, url, zone: config.zone, capacityBytes: s.capacityBytes, freeBytes: s.freeBytes });
    };
    await beat();
    let stopping = false;
    let lastWarning = 0;
    const heartbeat = setInterval(() => {
      beat().catch((e: unknown) => {
        if (Date.now() - lastWarning < 10_000) return;
        lastWarning = Date.now();
        log.warn({ err: (e as Error).message }, 'heartbeat failed: gateways will count this node down if it lasts');
      });
    }, config.heartbeatMs);

    // Under a lease row like every cluster job: its progress shows in the admin status, and two
    // processes started on one directory by mistake do not both scrub it.
    const scrubJob = new ClusterJob(cluster, `scrub:${id}`, 0);
    const scrub = () =>
      scrubJob.run((run) =>
        scrubPass(store, {
          mbps: config.scrubMbps,
          onCorrupt: async (a) => {
            metrics.corruptChunks.inc();
            await queueRepair(a, 'scrub found it corrupt');
          },
          onChecked: (bytes, report) => {
            metrics.scrubCheckedChunks.inc();
            metrics.scrubCheckedBytes.inc(bytes);
            run.progress({ ...report });
          },
        }, () => stopping),
      );
    let scrubbing: Promise<unknown> = Promise.resolve();
    let scrubTimer: NodeJS.Timeout | undefined;
    const scheduleScrub = () => {
      if (config.scrubMbps <= 0 || stopping) return;
      scrubTimer = setTimeout(() => {
        scrubbing = scrub()
          .then((report) => report && report.corrupt > 0 && log.warn(report, 'scrub found corrupt chunks; queued for repair'))
          .catch((e: unknown) => log.error({ err: e }, 'scrub failed'))
          .finally(scheduleScrub);
      }, config.scrubIntervalMs);
    };
    scheduleScrub();
    log.info({ id, url, zone: config.zone, dir: config.dir }, 'storage node up');

    return {
      id, url, server, store, scrub,
      async stop() {
        stopping = true;
        clearInterval(heartbeat);
        clearTimeout(scrubTimer);
        await scrubbing;
        // Gateways stop sending here at their next refresh instead of waiting out the heartbeats.
        await cluster.markDown(id).catch(() => undefined);
        await undo();
      },
    };
  } catch (e) {
    await undo();
    throw e;
  }
}

/** The node's id, made once and kept in its directory, so a restart (or a new address) is the
 * same node with the same chunks. */
async function persistentId(dir: string): Promise<string> {
  const file = path.join(dir, 'node-id');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const id = `node-${randomBytes(6).toString('hex')}`;
  await writeFile(file, `${id}\n`, { flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  return (await readFile(file, 'utf8')).trim();
}
