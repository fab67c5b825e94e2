/**
 * The wire between a gateway and a storage node: HTTP/1.1 keep-alive, raw chunk bytes in
 * bodies, small JSON everywhere else. The server is storage-node/server.ts, the client
 * storage-node/remote-store.ts; this file is what they agree on.
 *
 *   PUT    /chunks/<address>            body: the chunk's bytes. 201 stored, 200 already held
 *                                       (lease renewed either way); 400 AddressMismatch when
 *                                       BLAKE3(body) is not the address; 413 TooLarge past the
 *                                       node's chunk limit; 507 InsufficientStorage.
 *   GET    /chunks/<address>            200 the verified bytes; `Range: bytes=a-b` (or `a-`,
 *                                       `-n`) → 206 that slice, 416 InvalidRange past the end;
 *                                       404 NotFound; 422 ChunkCorrupt (the node set the
 *                                       bad file aside: repair it from another replica).
 *   HEAD   /chunks/<address>            200 with CLAIMED_AT_HEADER and STORED_BYTES_HEADER; 404.
 *   POST   /chunks/<address>/claim      renews the lease → { held: boolean }.
 *   DELETE /chunks/<address>?claimedBefore=T
 *                                       deletes only if not claimed at or after T, a time in
 *                                       the node's own clock → { deleted: boolean }. (Not a
 *                                       duration "idle for N ms": the node would measure it
 *                                       from the request's arrival, moving the cutoff later by
 *                                       the request's travel and queueing, so a claim made
 *                                       after the caller's cutoff could still lose its chunk.)
 *   POST   /holding                     { addresses: string[] (≤ HOLDING_MAX), claim?: boolean }
 *                                       → { held: boolean[] }, in order; with claim, the held
 *                                       ones have their leases renewed.
 *   GET    /inventory?after=&prefix=&limit=&debrisIdleMs=
 *                                       → InventoryPage: chunks in address order after `after`,
 *                                       with `prefix`; `next` is the cursor for the next page.
 *   GET    /status                      → NodeStatus.
 *   GET    /health                      → { status: 'ok' }            (no secret: for probes)
 *   GET    /metrics                     Prometheus text               (no secret: for scrapers)
 *
 * Every request but /health and /metrics carries `authorization: Bearer <cluster secret>`
 * (401 otherwise). Every response carries NODE_TIME_HEADER, the node's clock, so the client
 * turns the node's lease times into its own clock and its cutoffs into the node's: clocks may
 * differ by minutes, and leases compare only times taken on one clock. Errors are JSON
 * `{ error: <code>, message }`.
 */

export const NODE_TIME_HEADER = 'x-rfs-node-time';
export const CLAIMED_AT_HEADER = 'x-rfs-claimed-at';
export const STORED_BYTES_HEADER = 'x-rfs-stored-bytes';

/** Addresses per /holding request. */
export const HOLDING_MAX = 1000;
/** Chunks per inventory page, at most. */
export const INVENTORY_PAGE_MAX = 10_000;

export interface InventoryPage {
  /** claimedAt is in the node's clock on the wire; RemoteChunkStore converts it. */
  chunks: { address: string; storedBytes: number; claimedAt: number }[];
  /** The address to pass as `after` for the next page; null at the end. */
  next: string | null;
}

export interface NodeStatus {
  id: string;
  zone: string;
  /** What the node offers (RFS_NODE_CAPACITY, or the filesystem's size). */
  capacityBytes: number;
  /** min(capacity − stored, the filesystem's free space). */
  freeBytes: number;
  chunks: number;
  /** Original bytes of the chunks held, before compression. */
  logicalBytes: number;
  /** Bytes of the chunk files on disk. */
  storedBytes: number;
  /** True while the first count after start is still walking the disk (counts are partial). */
  counting: boolean;
}

export type NodeErrorCode =
  | 'Unauthorized'
  | 'NotFound'
  | 'AddressMismatch'
  | 'InsufficientStorage'
  | 'ChunkCorrupt'
  | 'BadRequest'
  | 'TooLarge'
  | 'InvalidRange'
  | 'InternalError';
