import type { ChunkStore } from '../../storage-node/chunk-store';
import type { MetadataStore } from '../../metadata/store';
import type { FastifyBaseLogger } from 'fastify';
import { metrics } from '../metrics';
import { Periodic } from './periodic';

const BATCH = 500;

/**
 * Deletes chunks no object references. A chunk goes only when (1) no object row references
 * it, (2) that has been seen for a full grace period (so a GET that read the manifest just
 * before a DELETE can finish), and (3) nobody claimed it within the grace period, checked
 * by the store itself at the moment of deletion (so a PUT that just reused the chunk keeps it).
 */
export class GarbageCollector extends Periodic<GcReport> {
  /** address → when it was first seen unreferenced, and the last pass that saw it so. */
  private readonly unreferenced = new Map<string, { since: number; pass: number }>();
  private passes = 0;

  constructor(
    private readonly meta: MetadataStore,
    private readonly store: ChunkStore,
    private readonly graceMs: number,
    log?: FastifyBaseLogger,
  ) {
    super('garbage collection', log);
  }

  /** One pass over the store's inventory. */
  protected async run(): Promise<GcReport> {
    const report: GcReport = { scanned: 0, deleted: 0, deletedBytes: 0 };
    const now = Date.now();
    const cutoff = now - this.graceMs;
    const pass = ++this.passes;
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
        if (await this.store.deleteIfIdle(c.address, cutoff)) {
          this.unreferenced.delete(c.address);
          report.deleted++;
          report.deletedBytes += c.storedBytes;
          metrics.gcDeletedChunks.inc();
          metrics.gcDeletedBytes.inc(c.storedBytes);
        }
      }
      batch = [];
    };
    // Files of writes or deletes a crash interrupted are as dead as unclaimed chunks: the
    // same walk removes those older than the cutoff.
    for await (const chunk of this.store.inventory({ debrisBefore: cutoff })) {
      report.scanned++;
      if (chunk.claimedAt >= cutoff) continue; // claimed recently: in use by a writer
      batch.push(chunk);
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length > 0) await flush();
    // Forget candidates this pass did not see unreferenced (gone, reclaimed, or referenced):
    // memory follows the candidates, not the size of the store.
    for (const [address, entry] of this.unreferenced) if (entry.pass !== pass) this.unreferenced.delete(address);
    if (report.deleted > 0) this.log?.info(report, 'garbage collection deleted unreferenced chunks');
    return report;
  }
}

/** What one pass did: for the log line, and for tests that run a pass and check it. */
export interface GcReport {
  scanned: number;
  deleted: number;
  deletedBytes: number;
}
