/**
 * Serialises async work per key (here: per chunk address) without a global lock: work on
 * one key runs one at a time, in arrival order, while different keys proceed concurrently.
 * Keys are forgotten as soon as nothing is queued on them, so the map stays as small as the
 * number of keys in use.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of `key` has finished (succeeded or failed). */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous === undefined ? done : previous.then(() => done);
    this.tails.set(key, tail);
    try {
      if (previous !== undefined) await previous;
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Resolves once all work queued so far has finished. */
  async drain(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }

  /** Number of keys with work running or queued. */
  get size(): number {
    return this.tails.size;
  }
}
