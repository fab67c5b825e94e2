import type { FastifyBaseLogger } from 'fastify';
import { ClusterJob, type JobRun } from '../../metadata/cluster-job';
import { type Bucket, type DeleteTarget, type LifecycleRule, MetadataError, type MetadataStore } from '../../metadata/store';
import { metrics } from '../metrics';
import { currentExpiry, markerExpired, noncurrentExpired, uploadAbandoned } from './lifecycle-rules';
import { Periodic } from './periodic';

/** Rows per page read, and so versions per DeleteObjects transaction at most. */
const PAGE = 1000;

export interface LifecycleOptions {
  /** A lifecycle day (RFS_LIFECYCLE_DAY_SECONDS): 86,400 s, shorter in tests. */
  dayMs: number;
  /** Timer passes run at this interval; one that finds a pass finished less than half of
   * it ago (another gateway's) leaves the buckets alone. */
  intervalMs: number;
  /** Metadata rows read per second at most (0: unthrottled). */
  rowsPerSecond: number;
}

/** What one pass did: the admin status, the log line, and tests. */
export interface LifecycleReport {
  buckets: number;
  /** Rows read: versions and uploads. */
  scanned: number;
  /** Current versions expired (removed, or hidden behind a delete marker). */
  expired: number;
  noncurrentExpired: number;
  deleteMarkersRemoved: number;
  uploadsAborted: number;
  /** Versions a rule would have removed that object lock keeps. */
  locked: number;
}

type RuledBucket = Pick<Bucket, 'name' | 'versioning'> & { rules: LifecycleRule[] };

/** rfs_lifecycle_actions_total's `action` label → the report's count of it. */
const REPORTED = {
  expire: 'expired',
  noncurrent: 'noncurrentExpired',
  delete_marker: 'deleteMarkersRemoved',
  abort_upload: 'uploadsAborted',
  locked: 'locked',
} as const satisfies Record<string, keyof LifecycleReport>;

/**
 * Runs every bucket's lifecycle rules: a pass pages through each bucket's current versions,
 * noncurrent versions and unfinished uploads, once each, and removes what the rules say is
 * due, a page of removals per transaction. Removed versions free their chunks through the
 * normal garbage collection. One pass runs in the cluster at a time, under the `lifecycle`
 * lease, so no two processes work on a bucket at once; it reads at most `rowsPerSecond`.
 */
export class LifecycleRunner extends Periodic<LifecycleReport | undefined> {
  private readonly job: ClusterJob;
  private eager = false;

  constructor(
    private readonly meta: MetadataStore,
    private readonly opts: LifecycleOptions,
    log?: FastifyBaseLogger,
  ) {
    super('lifecycle', log);
    this.job = new ClusterJob(meta.cluster, 'lifecycle', opts.rowsPerSecond, (on) => metrics.jobRunning.set({ task: 'lifecycle' }, on ? 1 : 0));
  }

  /** A pass now, whenever the last one ran (the admin API's POST /jobs/lifecycle). */
  runNow(): Promise<LifecycleReport | undefined> {
    this.eager = true;
    return this.runOnce();
  }

  /** One pass over every bucket with rules; undefined if another process runs one, or ran
   * one lately. */
  protected async run(): Promise<LifecycleReport | undefined> {
    const eager = this.eager;
    this.eager = false;
    if (!eager && (await this.ranLately())) return undefined;
    return this.job.run(async (run) => {
      const report: LifecycleReport = { buckets: 0, scanned: 0, expired: 0, noncurrentExpired: 0, deleteMarkersRemoved: 0, uploadsAborted: 0, locked: 0 };
      for (let after = ''; ; ) {
        const page = await this.meta.lifecycle.buckets(after, PAGE);
        for (const b of page) {
          const rules = (b.lifecycle ?? []).filter((r) => r.enabled);
          if (rules.length === 0) continue;
          report.buckets++;
          await new BucketPass(this.meta, { ...b, rules }, run, report, this.opts.dayMs).run().catch((e: unknown) => {
            if (!(e instanceof MetadataError && e.code === 'NoSuchBucket')) throw e; // deleted meanwhile: nothing left to do
          });
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1].name;
      }
      const acted = report.expired + report.noncurrentExpired + report.deleteMarkersRemoved + report.uploadsAborted;
      if (acted > 0) this.log?.info(report, 'lifecycle rules removed versions and uploads');
      return report;
    });
  }

  private async ranLately(): Promise<boolean> {
    const finished = (await this.meta.cluster.job('lifecycle'))?.progress.finished;
    return typeof finished === 'string' && Date.now() - Date.parse(finished) < this.opts.intervalMs / 2;
  }
}

/** One bucket's share of a pass. `now` is fixed at its start: what falls due meanwhile waits
 * for the next pass. */
class BucketPass {
  private readonly now = Date.now();

  constructor(
    private readonly meta: MetadataStore,
    private readonly bucket: RuledBucket,
    private readonly job: JobRun,
    private readonly report: LifecycleReport,
    private readonly dayMs: number,
  ) {}

  async run(): Promise<void> {
    const { rules } = this.bucket;
    for (const prefix of scanPrefixes(rules.filter((r) => r.expiration))) await this.current(prefix);
    if (this.bucket.versioning) {
      for (const prefix of scanPrefixes(rules.filter((r) => r.noncurrentVersionExpiration))) await this.noncurrent(prefix);
    }
    for (const prefix of scanPrefixes(rules.filter((r) => r.abortIncompleteMultipartUploadDays !== undefined))) await this.uploads(prefix);
  }

  /** Expiration: a current version due goes (unversioned) or gets a delete marker; a delete
   * marker left with no older versions is removed. */
  private async current(prefix: string): Promise<void> {
    const { rules, name } = this.bucket;
    for (let after: string | undefined; ; ) {
      const page = await this.meta.lifecycle.currentVersions(name, prefix, after, PAGE);
      await this.read(page.length);
      const targets: DeleteTarget[] = [];
      for (const v of page) {
        if (v.deleteMarker) {
          if (!v.hasNoncurrent && markerExpired(rules, v, this.now, this.dayMs)) targets.push({ key: v.key, versionId: v.versionId, ifCurrent: v.id });
        } else if ((currentExpiry(rules, v, this.dayMs)?.at ?? Infinity) <= this.now) {
          targets.push({ key: v.key, ifCurrent: v.id });
        }
      }
      const done = await this.remove(targets);
      this.count('expire', done.filter((t) => t.versionId === undefined).length);
      this.count('delete_marker', done.filter((t) => t.versionId !== undefined).length);
      if (page.length < PAGE) return;
      after = page[page.length - 1].key;
    }
  }

  /** NoncurrentVersionExpiration, key by key, newest version first: the count of newer
   * noncurrent versions and the time the next newer one was written carry across pages. */
  private async noncurrent(prefix: string): Promise<void> {
    const { rules, name } = this.bucket;
    let newer: { key: string; count: number; modified: Date } | undefined;
    for (let before; ; ) {
      const page = await this.meta.lifecycle.noncurrentVersions(name, prefix, before, PAGE);
      await this.read(page.length);
      const targets: DeleteTarget[] = [];
      for (const v of page) {
        if (newer?.key !== v.key) newer = { key: v.key, count: 0, modified: v.currentModified! };
        if (noncurrentExpired(rules, v, newer.modified, newer.count, this.now, this.dayMs)) targets.push({ key: v.key, versionId: v.versionId, noncurrent: true });
        newer.count++;
        newer.modified = v.lastModified;
      }
      this.count('noncurrent', (await this.remove(targets)).length);
      if (page.length < PAGE) return;
      before = page[page.length - 1].cursor;
    }
  }

  /** AbortIncompleteMultipartUpload: uploads started DaysAfterInitiation ago are aborted; their
   * parts' chunks go with the next GC. */
  private async uploads(prefix: string): Promise<void> {
    const { rules, name } = this.bucket;
    for (let after; ; ) {
      const page = await this.meta.lifecycle.uploads(name, prefix, after, PAGE);
      await this.read(page.length);
      for (const u of page) {
        if (uploadAbandoned(rules, u, this.now, this.dayMs) && (await this.abort(u.key, u.uploadId))) this.count('abort_upload', 1);
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1];
    }
  }

  /** Counts and paces the rows a page read, and tells the admin status. */
  private async read(rows: number): Promise<void> {
    this.report.scanned += rows;
    metrics.lifecycleRows.inc(rows);
    this.job.progress({ ...this.report, bucket: this.bucket.name });
    await this.job.pace(rows);
  }

  /** Deletes the targets in one transaction; resolves with those removed (not changed
   * meanwhile, not under object lock). */
  private async remove(targets: DeleteTarget[]): Promise<DeleteTarget[]> {
    if (targets.length === 0) return [];
    const results = await this.meta.deleteObjects(this.bucket.name, targets);
    this.count('locked', results.filter((r) => r.refused).length);
    return targets.filter((_, i) => !results[i].unchanged && !results[i].refused);
  }

  /** What the pass did, in its report and in rfs_lifecycle_actions_total. */
  private count(action: keyof typeof REPORTED, n: number): void {
    this.report[REPORTED[action]] += n;
    if (n > 0) metrics.lifecycleActions.inc({ action }, n);
  }

  private async abort(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.meta.abortUpload(this.bucket.name, key, uploadId);
      return true;
    } catch (e) {
      if (e instanceof MetadataError && e.code === 'NoSuchUpload') return false; // completed or aborted meanwhile
      throw e;
    }
  }
}

/** The key ranges to read for some rules: none without rules, everything if one rule has no
 * prefix, else each prefix that no shorter one already covers. */
export function scanPrefixes(rules: LifecycleRule[]): string[] {
  if (rules.length === 0) return [];
  const prefixes = [...new Set(rules.map((r) => r.filter.prefix ?? ''))].sort();
  return prefixes.filter((p, i) => !prefixes.slice(0, i).some((q) => p.startsWith(q)));
}
