import type { SqlClient } from './sql';
import type { Bucket, LifecycleCursor, LifecycleStore, LifecycleVersion } from './store';
import { keyBytes, s3VersionId, tagsOf } from './sql-versions';
import { successor } from './sql-walk';

/**
 * The lifecycle runner's reads, as keyset pages on the tables' primary keys: each page
 * starts where the last ended, so a pass reads every row once and no statement scans more
 * than a page. Noncurrent versions are read in descending (key, seq), which is
 * object_versions' primary key read backwards: newest first within a key, as the count of
 * newer noncurrent versions needs.
 */
export class SqlLifecycleStore implements LifecycleStore {
  constructor(private readonly db: SqlClient) {}

  async buckets(after: string, limit: number): Promise<Pick<Bucket, 'name' | 'versioning' | 'lifecycle'>[]> {
    const rows = await this.db.query<{ name: string; versioning: Bucket['versioning'] | null; lifecycle: Bucket['lifecycle'] }>(
      'SELECT name, versioning, lifecycle FROM buckets WHERE lifecycle IS NOT NULL AND name > $1 ORDER BY name LIMIT $2',
      [after, limit],
    );
    return rows.map((r) => ({ name: r.name, lifecycle: r.lifecycle, ...(r.versioning ? { versioning: r.versioning } : {}) }));
  }

  async currentVersions(bucket: string, prefix: string, after: string | undefined, limit: number): Promise<LifecycleVersion[]> {
    const w = new Where('bucket', 'key', bucket, prefix);
    if (after !== undefined) w.and(`key > ${w.param(keyBytes(after))}`);
    const rows = await this.db.query<Row & { has_noncurrent: boolean | null }>(
      `SELECT key, version_id, null_version, delete_marker, size, last_modified, tags,
              CASE WHEN delete_marker THEN EXISTS (SELECT 1 FROM object_versions v WHERE v.bucket = o.bucket AND v.key = o.key) END AS has_noncurrent
         FROM objects o WHERE ${w} ORDER BY key LIMIT ${w.param(limit)}`,
      w.params,
    );
    return rows.map((r) => ({ ...version(r), ...(r.has_noncurrent !== null ? { hasNoncurrent: r.has_noncurrent } : {}) }));
  }

  async noncurrentVersions(bucket: string, prefix: string, before: LifecycleCursor | undefined, limit: number): Promise<LifecycleVersion[]> {
    const w = new Where('v.bucket', 'v.key', bucket, prefix);
    if (before) w.and(`(v.key, v.seq) < (${w.param(keyBytes(before.key))}::BYTEA, ${w.param(before.seq)}::INT8)`);
    const rows = await this.db.query<Row & { seq: string; current_modified: Date }>(
      `SELECT v.key, v.seq, v.version_id, v.null_version, v.delete_marker, v.size, v.last_modified, v.tags,
              o.last_modified AS current_modified
         FROM object_versions v JOIN objects o ON o.bucket = v.bucket AND o.key = v.key
        WHERE ${w} ORDER BY v.key DESC, v.seq DESC LIMIT ${w.param(limit)}`,
      w.params,
    );
    return rows.map((r) => {
      const v = version(r);
      return { ...v, cursor: { key: v.key, seq: Number(r.seq) }, currentModified: new Date(r.current_modified) };
    });
  }

  async uploads(bucket: string, prefix: string, after: { key: string; uploadId: string } | undefined, limit: number) {
    const w = new Where('bucket', 'key', bucket, prefix);
    if (after) w.and(`(key, upload_id) > (${w.param(keyBytes(after.key))}::BYTEA, ${w.param(after.uploadId)}::UUID)`);
    const rows = await this.db.query<{ key: Uint8Array; upload_id: string; initiated: Date }>(
      `SELECT key, upload_id, initiated FROM uploads WHERE ${w} ORDER BY key, upload_id LIMIT ${w.param(limit)}`,
      w.params,
    );
    return rows.map((r) => ({ key: Buffer.from(r.key).toString('utf8'), uploadId: r.upload_id, initiated: new Date(r.initiated) }));
  }
}

/**
 * A page's WHERE: the bucket, the keys under the prefix, and the cursor, each bound written
 * only when it exists, as a plain comparison, so the primary-key scan starts and stops at
 * it whatever plan the database caches (`$n IS NULL OR …` would hide the bound from it).
 */
class Where {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  constructor(bucketColumn: string, keyColumn: string, bucket: string, prefix: string) {
    this.and(`${bucketColumn} = ${this.param(bucket)}`);
    if (prefix === '') return;
    const from = keyBytes(prefix);
    const to = successor(from);
    this.and(`${keyColumn} >= ${this.param(from)}`);
    if (to) this.and(`${keyColumn} < ${this.param(to)}`);
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  and(condition: string): void {
    this.conditions.push(condition);
  }

  toString(): string {
    return this.conditions.join(' AND ');
  }
}

type Row = {
  key: Uint8Array;
  version_id: string;
  null_version: boolean;
  delete_marker: boolean;
  size: string | number;
  last_modified: Date;
  tags: unknown;
};

function version(r: Row): LifecycleVersion {
  return {
    key: Buffer.from(r.key).toString('utf8'),
    id: r.version_id,
    versionId: s3VersionId(r),
    deleteMarker: r.delete_marker,
    size: Number(r.size),
    lastModified: new Date(r.last_modified),
    tags: tagsOf(r.tags),
  };
}
