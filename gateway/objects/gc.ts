import type { ChunkStore } from '../../storage-node/chunk-store';
import type { MetadataStore } from '../../metadata/store';
import type { FastifyBaseLogger } from 'fastify';
import { ClusterJob, type JobRun } from '../../metadata/cluster-job';
import { metrics } from '../metrics';
import { Periodic } from './periodic';

const BATCH = 500;

/**
 * Deletes chunks no object references. A chunk goes only when (1) no object row references
 * it, (2) that has been seen for a full grace period (so a GET that read the manifest just
 * before a DELETE can finish), and (3) nobody claimed it within the grace period, checked
 * by the store itself at the moment of deletion (so a PUT that just reused the chunk keeps it).
 *
 * It walks each store `stores()` names: the local directory, or every reachable storage node
 * (a node compares the grace period with its own clock, so clock skew between machines moves
 * no lease). A pass runs in one place at a time, under the `gc` lease.
 */
export class GarbageCollector extends Periodic<GcReport | undefined> {
  /** address → when it was first seen unreferenced, and the last pass that saw it so. */
  private readonly unreferenced = new Map<string, { since: number; pass: number }>();
  private passes = 0;
  private readonly job: ClusterJob;

  constructor(
    private readonly meta: MetadataStore,
    private readonly stores: () => ChunkStore[],
    private readonly graceMs: number,
    log?: FastifyBaseLogger,
    /** Stored bytes deleted per second at most, in MB/s (0: unthrottled). */
    mbps = 0,
  ) {
    super('garbage collection', log);
    this.job = new ClusterJob(meta.cluster, 'gc', mbps * 1_000_000, (on) => metrics.jobRunning.set({ task: 'gc' }, on ? 1 : 0));
  }

  /** One pass over every store's inventory; undefined if another process is running one. */
  protected async run(): Promise<GcReport | undefined> {
    return this.job.run(async (run) => {
      const report: GcReport = { scanned: 0, deleted: 0, deletedBytes: 0 };
      const pass = ++this.passes;
      for (const store of this.stores()) await this.collect(store, pass, report, run);
      // Forget candidates this pass did not see unreferenced (gone, reclaimed, or referenced):
      // memory follows the candidates, not the size of the store.
      for (const [address, entry] of this.unreferenced) if (entry.pass !== pass) this.unreferenced.delete(address);
      if (report.deleted > 0) this.log?.info(report, 'garbage collection deleted unreferenced chunks');
      // What users stored, against what the nodes hold: the dedup ratio's numerator.
      metrics.objectsBytes.set(await this.meta.objectBytes());
      return report;
    });
  }

  private async collect(store: ChunkStore, pass: number, report: GcReport, run: JobRun): Promise<void> {
    const now = Date.now();
    const cutoff = now - this.graceMs;
    let batch: { address: string; storedBytes: number }[] = [];
    const flush = async () => {
      const referenced = new Set(await this.meta.referencedChunks(batch.map((c) => c.address)));
      for (const c of batch) {
        if (referenced.has(c.address)) {
          this.unreferenced.delete(c.address);
          continue;
        }
        const since = this.unreferenced.get(c.address)?.since ?? now;
        this.unreferenced.set(c.address, { since, pass });
        if (since > cutoff) continue;
        await run.pace(c.storedBytes);
        if (await store.deleteIfIdle(c.address, cutoff)) {
          report.deleted++;
          report.deletedBytes += c.storedBytes;
          metrics.gcDeletedChunks.inc();
          metrics.gcDeletedBytes.inc(c.storedBytes);
        }
      }
      batch = [];
      run.progress({ ...report });
    };
    // Files of writes or deletes a crash interrupted are as dead as unclaimed chunks: the
    // same walk removes those older than the cutoff.
    for await (const chunk of store.inventory({ debrisBefore: cutoff })) {
      report.scanned++;
      metrics.gcScannedChunks.inc();
      if (chunk.claimedAt >= cutoff) continue; // claimed recently: in use by a writer
      batch.push(chunk);
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length > 0) await flush();
  }
}

/** What one pass did: for the log line, and for tests that run a pass and check it. */
export interface GcReport {
  scanned: number;
  deleted: number;
  deletedBytes: number;
}
