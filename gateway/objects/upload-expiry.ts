import type { FastifyBaseLogger } from 'fastify';
import { MetadataError, type MetadataStore } from '../../metadata/store';
import { Periodic } from './periodic';

const BATCH = 100;

/**
 * Aborts multipart uploads left neither completed nor aborted for longer than `maxAgeMs`.
 * Aborting drops the upload's parts; their chunks are then unreferenced, and the garbage
 * collector deletes them after its grace period, as it does for any unreferenced chunk.
 */
export class UploadExpiry extends Periodic<number> {
  constructor(
    private readonly meta: MetadataStore,
    private readonly maxAgeMs: number,
    log?: FastifyBaseLogger,
  ) {
    super('multipart upload expiry', log);
  }

  /** One sweep; resolves with the number of uploads aborted. */
  protected async run(): Promise<number> {
    const before = new Date(Date.now() - this.maxAgeMs);
    let aborted = 0;
    for (;;) {
      const stale = await this.meta.staleUploads(before, BATCH);
      let batchAborted = 0;
      for (const u of stale) if (await this.abort(u.bucket, u.key, u.uploadId)) batchAborted++;
      aborted += batchAborted;
      // A short batch is the last. A batch of which nothing could be aborted would come back
      // the same: leave it to the next sweep rather than loop.
      if (stale.length < BATCH || batchAborted === 0) break;
    }
    if (aborted > 0) this.log?.info({ aborted }, 'aborted expired multipart uploads');
    return aborted;
  }

  /** True when aborted; false when it was gone already (completed or aborted meanwhile) or
   * the abort failed (logged; the next sweep tries again). */
  private async abort(bucket: string, key: string, uploadId: string): Promise<boolean> {
    try {
      await this.meta.abortUpload(bucket, key, uploadId);
      return true;
    } catch (e) {
      if (!(e instanceof MetadataError && e.code === 'NoSuchUpload')) {
        this.log?.error({ err: e, bucket, key, uploadId }, 'could not abort an expired multipart upload');
      }
      return false;
    }
  }
}
