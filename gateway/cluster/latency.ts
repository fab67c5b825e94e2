/** Recent response times of one node, for the hedged-read delay. */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private cached?: number;

  constructor(
    private readonly size = 128,
    /** Until enough samples exist, hedge after this long. */
    private readonly fallbackMs = 50,
  ) {}

  record(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    this.cached = undefined;
  }

  /** The 95th percentile of the window (at least 1 ms), or the fallback while it is sparse. */
  p95(): number {
    if (this.samples.length < 20) return this.fallbackMs;
    if (this.cached === undefined) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      this.cached = Math.max(1, sorted[Math.floor(sorted.length * 0.95)]);
    }
    return this.cached;
  }
}
