import { ChunkCorruptError, ChunkNotFoundError } from './chunk-store';
import type { DiskChunkStore } from './disk-store';
import { TokenBucket } from '../metadata/cluster-job';

export interface ScrubOptions {
  /** Bytes re-read per second, in MB/s: scrub must not starve the node's clients of disk. */
  mbps: number;
  /** A chunk failed its hash: the store has set the file aside; get a good copy back. */
  onCorrupt(address: string): Promise<void>;
  /** After each chunk: its stored bytes, and the pass so far. */
  onChecked?(storedBytes: number, report: ScrubReport): void;
}

export interface ScrubReport {
  checked: number;
  checkedBytes: number;
  corrupt: number;
}

/**
 * One scrub pass over a node's own disk: every chunk is read back and re-hashed against its
 * address (DiskChunkStore.get verifies), paced to `mbps`. Bit rot, a torn write the
 * filesystem did not catch, or a file changed by hand shows up here rather than at the next
 * read of a rarely read object; the repair queue then copies a good replica back.
 */
export async function scrubPass(store: DiskChunkStore, opts: ScrubOptions, stopped: () => boolean): Promise<ScrubReport> {
  const report: ScrubReport = { checked: 0, checkedBytes: 0, corrupt: 0 };
  const pace = new TokenBucket(opts.mbps * 1_000_000);
  for await (const chunk of store.inventory()) {
    if (stopped()) break;
    await pace.take(chunk.storedBytes);
    try {
      await store.get(chunk.address);
    } catch (e) {
      if (e instanceof ChunkNotFoundError) continue; // deleted since listed
      if (!(e instanceof ChunkCorruptError)) throw e;
      report.corrupt++;
      await opts.onCorrupt(chunk.address);
    }
    report.checked++;
    report.checkedBytes += chunk.storedBytes;
    opts.onChecked?.(chunk.storedBytes, report);
  }
  return report;
}
