import type { ChunkStore } from '../../storage-node/chunk-store';
import { chunkAddress } from '../../storage-node/address';
import type { ChunkRef } from '../../metadata/store';
import type { Slots } from './slots';

/**
 * Sends one object's chunks to the chunk store with at most `concurrency` writes in flight:
 * `add` waits while the window is full, which is what pushes back on the client's socket,
 * so memory per upload stays below concurrency × max chunk size whatever the object size.
 *
 * It also keeps the leases of the chunks it has written: a collector deletes only chunks
 * unclaimed for a grace period, so a long upload re-claims its older chunks before they
 * could age out, and once more just before the object row commits.
 */
export class ChunkWriter {
  readonly refs: ChunkRef[] = [];
  private size = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly claimedAt = new Map<string, number>();
  private oldestClaim = Infinity;

  constructor(
    private readonly store: ChunkStore,
    private readonly concurrency: number,
    private readonly leaseMs: number,
    private readonly slots: Slots,
  ) {}

  async add(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    const address = chunkAddress(chunk);
    this.refs.push({ pos: this.size, address, size: chunk.length });
    this.size += chunk.length;
    const release = await this.slots.acquire();
    const write = this.store.put(address, chunk).then(
      () => this.noteClaim(address),
      (e) => void (this.failure ??= e),
    );
    this.inFlight.add(write);
    void write.finally(() => {
      release();
      this.inFlight.delete(write);
    });
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    this.throwIfFailed();
    if (Date.now() - this.oldestClaim > this.leaseMs / 4) await this.renewLeases();
  }

  /** Waits for every write, renews leases, and returns the manifest to commit. */
  async finish(): Promise<ChunkRef[]> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    if (Date.now() - this.oldestClaim > this.leaseMs / 8) await this.renewLeases();
    return this.refs;
  }

  /** Stops waiting for writes of an upload that failed; what was written is left to GC. */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }

  private noteClaim(address: string): void {
    const now = Date.now();
    this.claimedAt.set(address, now);
    if (this.oldestClaim === Infinity) this.oldestClaim = now;
  }

  private async renewLeases(): Promise<void> {
    const now = Date.now();
    for (const address of this.claimedAt.keys()) {
      if (!(await this.store.claim(address))) throw new Error(`chunk ${address} vanished before its object committed`);
      this.claimedAt.set(address, now);
    }
    this.oldestClaim = now;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
