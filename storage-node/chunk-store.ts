/**
 * The seam between the gateway and the storage tier. A chunk is at most a few MiB and is
 * named by its address (BLAKE3 of its bytes, lowercase hex), so identical bytes have one
 * name and dedup is a local "already have it".
 *
 * Garbage collection and writers meet through leases: `put` and `claim` stamp the chunk
 * with the time it was last claimed, and `deleteIfIdle` deletes only a chunk nobody has
 * claimed since a cutoff. A writer that claims a chunk, then commits a reference within the
 * grace period, can never lose it to a collector that saw it unreferenced a moment before.
 */
export interface ChunkStore {
  /** Stores bytes under their address, durably (fsync + rename) before resolving. Returns
   * false when the chunk was already held; either way its lease is renewed. */
  put(address: string, data: Buffer): Promise<boolean>;
  /** Renews the lease of a chunk already held; false if it is not held (then `put` it). */
  claim(address: string): Promise<boolean>;
  /** The chunk's original bytes, verified against its address. Throws ChunkNotFoundError. */
  get(address: string): Promise<Buffer>;
  /** Deletes the chunk only if it was not claimed at or after `claimedBefore` (ms since epoch). */
  deleteIfIdle(address: string, claimedBefore: number): Promise<boolean>;
  /** Every chunk held, for garbage collection and scrub. With `debrisBefore` (ms since the
   * epoch), the same walk removes what interrupted writes and deletes left behind untouched
   * since then; GC passes its cutoff. */
  inventory(options?: { debrisBefore?: number }): AsyncIterable<ChunkInfo>;
  stats(): Promise<ChunkStoreStats>;
  close(): Promise<void>;
}

export interface ChunkInfo {
  address: string;
  /** Bytes on disk (after compression). */
  storedBytes: number;
  /** Last put or claim, ms since epoch. */
  claimedAt: number;
}

export interface ChunkStoreStats {
  chunks: number;
  storedBytes: number;
}

export class ChunkNotFoundError extends Error {
  constructor(readonly address: string) {
    super(`chunk ${address} not found`);
    this.name = 'ChunkNotFoundError';
  }
}

export class ChunkCorruptError extends Error {
  constructor(readonly address: string) {
    super(`chunk ${address} failed its hash check`);
    this.name = 'ChunkCorruptError';
  }
}
