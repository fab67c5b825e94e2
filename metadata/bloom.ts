import { BloomFilter } from 'bloom-filters';

/**
 * A filter that can say "definitely absent", never "present": a positive always goes to the
 * database. The in-process one backs the embedded mode; a Redis-backed one (a later issue)
 * shares the same interface between gateways.
 */
export interface Bloom {
  add(item: string): Promise<void>;
  mightContain(item: string): Promise<boolean>;
}

/**
 * In-process Bloom filter over the `bloom-filters` package, rebuilt from the source of truth:
 * until the first build completes it answers "maybe" for everything, deletes never shrink a
 * Bloom filter, so a rebuild drops them, and items added during a rebuild go into both the old
 * and the new filter so none is lost in the swap. A rebuild that finds more items than the
 * filter was sized for sizes the next one for twice as many.
 */
export class MemoryBloom implements Bloom {
  private current?: BloomFilter;
  private next?: BloomFilter;
  private capacity: number;

  constructor(capacity = 100_000, private readonly errorRate = 0.01) {
    this.capacity = capacity;
  }

  async add(item: string): Promise<void> {
    this.current?.add(item);
    this.next?.add(item);
  }

  async mightContain(item: string): Promise<boolean> {
    return this.current ? this.current.has(item) : true;
  }

  /** Replaces the filter with one holding exactly `items` (plus whatever is added meanwhile). */
  async rebuild(items: AsyncIterable<string>): Promise<number> {
    const next = BloomFilter.create(this.capacity, this.errorRate);
    this.next = next;
    let count = 0;
    try {
      for await (const item of items) {
        next.add(item);
        count++;
      }
    } catch (e) {
      this.next = undefined;
      throw e;
    }
    this.current = next;
    this.next = undefined;
    if (count > this.capacity / 2) this.capacity = count * 2;
    return count;
  }
}
