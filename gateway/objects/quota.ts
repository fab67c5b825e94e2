import type { Bucket, MetadataStore } from '../../metadata/store';
import { S3Error } from '../protocol/errors';

/** How long a bucket's usage, read from the database, is trusted. */
export const USAGE_TTL_MS = 5000;
/** Buckets whose usage is kept: a quota'd bucket outside it is simply read again. */
const MAX_BUCKETS = 10_000;

interface Usage {
  /** Logical bytes (every version) as the last read of the database found them. */
  logicalBytes: number;
  /** Bytes this gateway let in since that read began. */
  accepted: number;
  until: number;
  /** The read in progress, shared by every check that needs it. */
  refreshing?: Promise<void>;
}

/**
 * Enforces `bucket.quotaBytes`, a hard limit on a bucket's logical bytes (every version, as
 * the user stored them, before dedup and compression).
 *
 * Usage comes from `meta.bucketUsage` (a scan) cached for USAGE_TTL_MS, plus the bytes this
 * gateway accepted since. So a quota is enforced within bounded staleness, as Ceph RGW's
 * are: several gateways writing to one bucket at once, or uploads still in flight when the
 * cache was read, can overshoot by what they accept within one window; deletions free room
 * within one window. An accepted upload that then fails counts until the next read. Buckets
 * without a quota cost nothing: no read, no entry.
 */
export class QuotaGuard {
  private readonly usage = new Map<string, Usage>();

  constructor(
    private readonly meta: Pick<MetadataStore, 'bucketUsage'>,
    private readonly ttlMs = USAGE_TTL_MS,
  ) {}

  /** Throws S3Error QuotaExceeded when `incomingBytes` more would take the bucket past its
   * quota; otherwise counts them as this gateway's until the next read. */
  check(bucket: Bucket, incomingBytes: number): Promise<void> {
    return this.admit(bucket, incomingBytes, true);
  }

  /** CompleteMultipartUpload: its parts' bytes become the object's. Parts were checked as they
   * came, but stop counting at the next read (usage counts objects, not parts), so the whole
   * object is held to the quota here. Only stored usage is compared: what this gateway
   * accepted since may be these very parts. */
  checkComplete(bucket: Bucket, objectBytes: number): Promise<void> {
    return this.admit(bucket, objectBytes, false);
  }

  private async admit(bucket: Bucket, bytes: number, countAccepted: boolean): Promise<void> {
    if (bucket.quotaBytes == null) return;
    const usage = await this.current(bucket.name);
    const used = usage.logicalBytes + (countAccepted ? usage.accepted : 0);
    if (used + bytes > bucket.quotaBytes) {
      throw new S3Error('QuotaExceeded', `The bucket quota of ${bucket.quotaBytes} bytes would be exceeded by this upload.`);
    }
    usage.accepted += bytes;
  }

  /** Forgets what is known of a bucket (deleted, or its quota changed): the next check reads. */
  forget(bucket: string): void {
    this.usage.delete(bucket);
  }

  private async current(bucket: string): Promise<Usage> {
    let usage = this.usage.get(bucket);
    if (!usage) {
      if (this.usage.size >= MAX_BUCKETS) this.usage.clear();
      usage = { logicalBytes: 0, accepted: 0, until: 0 };
      this.usage.set(bucket, usage);
    }
    if (usage.until <= Date.now()) await (usage.refreshing ??= this.refresh(bucket, usage));
    return usage;
  }

  private async refresh(bucket: string, usage: Usage): Promise<void> {
    // Bytes accepted before the read began are in it once their upload committed (one still
    // in flight is missed: the overshoot above). Ones accepted during the read stay counted,
    // even if the read saw them too: that errs toward refusing.
    const acceptedBefore = usage.accepted;
    try {
      const { logicalBytes } = await this.meta.bucketUsage(bucket);
      usage.logicalBytes = logicalBytes;
      usage.accepted -= acceptedBefore;
      usage.until = Date.now() + this.ttlMs;
    } finally {
      usage.refreshing = undefined;
    }
  }
}
