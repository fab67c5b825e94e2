/**
 * A counting semaphore: the chunk writes in flight across all uploads. Each upload already
 * bounds its own window; this bounds their sum, so a hundred parallel uploads hold at most
 * `size` chunks in memory while they wait on the disk, not a hundred windows.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  /** Resolves with the function that gives the slot back. */
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
