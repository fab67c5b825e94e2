import { randomUUID } from 'node:crypto';
import type { ClusterStore } from './cluster-store';

/** How long a job's lease lasts unless renewed: a gateway that dies mid-job holds the others
 * back no longer than this. */
const LEASE_SECONDS = 30;

/** What a job run sees: report progress (which also notices a lost lease) and pace itself. */
export interface JobRun {
  /** Publishes progress for the admin status; throws if the lease was lost meanwhile. */
  progress(state: Record<string, unknown>): void;
  /** Waits as long as `units` (bytes, or rows) take at the job's rate. */
  pace(units: number): Promise<void>;
}

export class LeaseLostError extends Error {
  constructor(job: string) {
    super(`lost the ${job} lease to another process`);
    this.name = 'LeaseLostError';
  }
}

/**
 * A cluster job that runs in one place at a time, whichever gateway or node starts it: a run
 * first takes the job's lease row (metadata/cluster-store.ts) and renews it while it works;
 * another process asking meanwhile finds the lease held and skips its run. Work is paced to
 * `perSecond` units a second (bytes for GC and repair, rows for lifecycle; 0: unthrottled).
 */
export class ClusterJob {
  private readonly holder = randomUUID();

  constructor(
    private readonly cluster: ClusterStore,
    readonly name: string,
    private readonly perSecond: number,
    /** Told when a run starts and ends here (a metric). */
    private readonly onRunning?: (running: boolean) => void,
  ) {}

  /** Runs `work` under the lease; undefined (without running it) if another process holds it. */
  async run<T>(work: (run: JobRun) => Promise<T>): Promise<T | undefined> {
    if (!(await this.cluster.takeLease(this.name, this.holder, LEASE_SECONDS))) return undefined;
    let lost = false;
    let latest: Record<string, unknown> = {};
    let published = 0;
    const renew = setInterval(() => {
      this.cluster.takeLease(this.name, this.holder, LEASE_SECONDS).then(
        (held) => void (lost ||= !held),
        () => undefined, // the database is unreachable: the lease stands until it expires
      );
      void this.cluster.reportProgress(this.name, this.holder, latest).catch(() => undefined);
    }, (LEASE_SECONDS * 1000) / 3);
    renew.unref();
    const bucket = new TokenBucket(this.perSecond);
    this.onRunning?.(true);
    try {
      return await work({
        progress: (state) => {
          if (lost) throw new LeaseLostError(this.name);
          latest = state;
          if (Date.now() - published > 1000) {
            published = Date.now();
            void this.cluster.reportProgress(this.name, this.holder, state).catch(() => undefined);
          }
        },
        pace: (units) => bucket.take(units),
      });
    } finally {
      clearInterval(renew);
      this.onRunning?.(false);
      await this.cluster.reportProgress(this.name, this.holder, { ...latest, finished: new Date().toISOString() }).catch(() => undefined);
      await this.cluster.releaseLease(this.name, this.holder).catch(() => undefined);
    }
  }
}

/** A rate limit in units per second, with one second of burst. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  async take(n: number): Promise<void> {
    if (this.perSecond <= 0) return;
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    this.tokens -= n;
    if (this.tokens < 0) await new Promise((resolve) => setTimeout(resolve, (-this.tokens / this.perSecond) * 1000));
  }
}
