import { type SqlQueryable, SERIALIZATION_FAILURE } from './sql';
import {
  type ChunkRef, type Grant, type ObjectLockConfiguration, type ObjectVersion, type RetentionMode, type Tags, type VersioningStatus,
  type WriteCondition, MetadataError,
} from './store';

/**
 * The version rows and the moves between them. `objects` holds each key's current version
 * (a delete marker included); `object_versions` the older ones, newest = highest seq. The
 * null version ('null' to S3) is at most one row per key, in either table.
 */

/** Columns shared by `objects` and `object_versions`, in one order for INSERT … SELECT. */
export const VERSION_COLUMNS = `version_id, null_version, delete_marker, size, etag, last_modified, owner, headers,
  user_meta, checksums, checksum_type, tags, part_count, inline_data, acl, retention_mode, retain_until, legal_hold`;

/** A version row as written: every column of VERSION_COLUMNS. */
export interface VersionRow {
  version_id: string;
  null_version: boolean;
  delete_marker: boolean;
  size: string | number;
  etag: string;
  last_modified: Date;
  owner: string;
  headers: Record<string, string>;
  user_meta: Record<string, string>;
  checksums: Record<string, string>;
  checksum_type: string | null;
  tags: Record<string, string>;
  part_count: string | number | null;
  inline_data: Uint8Array | null;
  /** NULL: the owner alone, with FULL_CONTROL. */
  acl: Grant[] | null;
  /** Object lock; NULL: never set. */
  retention_mode: RetentionMode | null;
  retain_until: Date | null;
  legal_hold: boolean | null;
}

export type NewVersionRow = Omit<VersionRow, 'null_version' | 'last_modified'>;

export interface CurrentRow {
  version_id: string;
  etag: string;
  null_version: boolean;
  delete_marker: boolean;
}

/** Tags as stored: [key, value] pairs in the order they were set, which S3 answers them in (a
 * JSONB object orders its keys by length, then bytes). Rows written before hold an object. */
export const tagsJson = (tags: Tags): string => JSON.stringify(Object.entries(tags));
export const tagsOf = (stored: unknown): Tags =>
  Array.isArray(stored) ? Object.fromEntries(stored as [string, string][]) : ((stored as Tags | null) ?? {});

export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

export function s3VersionId(r: Pick<VersionRow, 'version_id' | 'null_version'>): string {
  return r.null_version ? 'null' : r.version_id;
}

export function toObject(bucket: string, r: VersionRow & { key: Uint8Array }, isLatest: boolean): ObjectVersion {
  return {
    bucket,
    key: Buffer.from(r.key).toString('utf8'),
    id: r.version_id,
    versionId: s3VersionId(r),
    isLatest,
    deleteMarker: r.delete_marker,
    size: Number(r.size),
    etag: r.etag,
    lastModified: new Date(r.last_modified),
    owner: r.owner,
    headers: r.headers,
    userMetadata: r.user_meta,
    checksums: r.checksums,
    ...(r.checksum_type ? { checksumType: r.checksum_type as ObjectVersion['checksumType'] } : {}),
    tags: tagsOf(r.tags),
    ...(r.part_count != null ? { partCount: Number(r.part_count) } : {}),
    ...(r.acl ? { acl: r.acl } : {}),
    ...(r.inline_data ? { inline: r.inline_data } : {}),
    ...(r.retention_mode && r.retain_until ? { retention: { mode: r.retention_mode, until: new Date(r.retain_until) } } : {}),
    ...(r.legal_hold != null ? { legalHold: r.legal_hold } : {}),
  };
}

/** The bucket's versioning state and object lock, read inside the transaction, with the
 * database's time (the transaction's now(), which new versions are stamped with). NoSuchBucket if none. */
export async function bucketVersioning(
  tx: SqlQueryable,
  bucket: string,
): Promise<{ versioning?: VersioningStatus; owner: string; objectLock?: ObjectLockConfiguration; now: Date }> {
  const rows = await tx.query<{ versioning: VersioningStatus | null; owner: string; object_lock: ObjectLockConfiguration | null; now: Date }>(
    'SELECT versioning, owner, object_lock, now() AS now FROM buckets WHERE name = $1',
    [bucket],
  );
  if (rows.length === 0) throw new MetadataError('NoSuchBucket');
  const r = rows[0];
  return { versioning: r.versioning ?? undefined, owner: r.owner, ...(r.object_lock ? { objectLock: r.object_lock } : {}), now: new Date(r.now) };
}

/** The current row of a key, locked for the rest of the transaction. */
export async function lockCurrent(tx: SqlQueryable, bucket: string, key: Buffer): Promise<CurrentRow | undefined> {
  const rows = await tx.query<CurrentRow>(
    'SELECT version_id, etag, null_version, delete_marker FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE',
    [bucket, key],
  );
  return rows[0];
}

/** S3's write preconditions against the current version; a delete marker counts as absent. */
export function checkWriteCondition(condition: WriteCondition, current: CurrentRow | undefined): void {
  const etag = current && !current.delete_marker ? current.etag : undefined;
  if (condition.ifNoneMatch === '*' && etag !== undefined) throw new MetadataError('PreconditionFailed');
  if (condition.ifMatch) {
    if (etag === undefined) throw new MetadataError('NoSuchKey');
    if (!condition.ifMatch.some((e) => e === '*' || e === etag)) throw new MetadataError('PreconditionFailed');
  }
}

/**
 * Makes `row` the key's current version as the bucket's versioning state says: Enabled keeps
 * the previous current version as the newest noncurrent one; unversioned and Suspended
 * buckets give the new row the null version, dropping whatever null version existed.
 * `current` is the key's current row, locked by the caller (lockCurrent).
 */
export async function installVersion(
  tx: SqlQueryable,
  bucket: string,
  key: Buffer,
  versioning: VersioningStatus | undefined,
  current: CurrentRow | undefined,
  row: NewVersionRow,
): Promise<string> {
  if (!current) {
    const created = await createVersion(tx, bucket, key, versioning, row);
    // Another writer created the key after our look: start over and install over theirs.
    if (created === undefined) throw Object.assign(new Error('key created concurrently'), { code: SERIALIZATION_FAILURE });
    return created;
  }
  const nullVersion = versioning !== 'Enabled';
  if (nullVersion && current.null_version) await dropVersionData(tx, [current.version_id]);
  else await demoteCurrent(tx, bucket, key);
  if (nullVersion && versioning === 'Suspended') await dropNoncurrentNull(tx, bucket, key);
  await writeCurrent(tx, bucket, key, nullVersion, row, 'DO UPDATE SET ' + UPDATE_ALL);
  return nullVersion ? 'null' : row.version_id;
}

/**
 * The first version of a key that has none: the insert itself claims the key (its primary
 * key), so no read of the key comes first. Resolves with the S3 version id, or undefined if
 * the key exists, and the caller then locks it and installs over it. (A read first made
 * PostgreSQL's serializable transactions of concurrent PUTs of new keys fail each other
 * through page-level predicate locks: 0.7 retries per PUT.) A key with no current row has no
 * older versions either, so there is nothing else to move.
 */
export async function createVersion(
  tx: SqlQueryable,
  bucket: string,
  key: Buffer,
  versioning: VersioningStatus | undefined,
  row: NewVersionRow,
): Promise<string | undefined> {
  const nullVersion = versioning !== 'Enabled';
  const inserted = await writeCurrent(tx, bucket, key, nullVersion, row, 'DO NOTHING RETURNING version_id');
  if (inserted.length === 0) return undefined;
  return nullVersion ? 'null' : row.version_id;
}

const UPDATE_ALL = `version_id = excluded.version_id, null_version = excluded.null_version, delete_marker = excluded.delete_marker,
  size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified, owner = excluded.owner,
  headers = excluded.headers, user_meta = excluded.user_meta, checksums = excluded.checksums,
  checksum_type = excluded.checksum_type, tags = excluded.tags, part_count = excluded.part_count,
  inline_data = excluded.inline_data, acl = excluded.acl, retention_mode = excluded.retention_mode,
  retain_until = excluded.retain_until, legal_hold = excluded.legal_hold`;

function writeCurrent(tx: SqlQueryable, bucket: string, key: Buffer, nullVersion: boolean, row: NewVersionRow, onConflict: string): Promise<unknown[]> {
  return tx.query(
    `INSERT INTO objects (bucket, key, ${VERSION_COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9::JSONB, $10::JSONB, $11::JSONB, $12, $13::JSONB, $14, $15, $16::JSONB,
       $17, $18::TIMESTAMPTZ, $19::BOOL)
     ON CONFLICT (bucket, key) ${onConflict}`,
    [
      bucket, key, row.version_id, nullVersion, row.delete_marker, row.size, row.etag, row.owner,
      JSON.stringify(row.headers), JSON.stringify(row.user_meta), JSON.stringify(row.checksums), row.checksum_type,
      tagsJson(row.tags), row.part_count, row.inline_data, row.acl && JSON.stringify(row.acl),
      row.retention_mode, row.retain_until, row.legal_hold,
    ],
  );
}

/** Copies the current row into object_versions as the newest noncurrent version. The
 * caller then overwrites or deletes the current row. */
async function demoteCurrent(tx: SqlQueryable, bucket: string, key: Buffer): Promise<void> {
  await tx.query(
    `INSERT INTO object_versions (bucket, key, seq, ${VERSION_COLUMNS})
     SELECT bucket, key, (SELECT COALESCE(max(seq), 0) + 1 FROM object_versions WHERE bucket = $1 AND key = $2), ${VERSION_COLUMNS}
       FROM objects WHERE bucket = $1 AND key = $2`,
    [bucket, key],
  );
}

async function dropNoncurrentNull(tx: SqlQueryable, bucket: string, key: Buffer): Promise<void> {
  const gone = await tx.query<{ version_id: string }>(
    'DELETE FROM object_versions WHERE bucket = $1 AND key = $2 AND null_version RETURNING version_id',
    [bucket, key],
  );
  await dropVersionData(tx, gone.map((r) => r.version_id));
}

/** Removes the current row; the newest noncurrent version, if any, becomes current. */
export async function removeCurrent(tx: SqlQueryable, bucket: string, key: Buffer): Promise<void> {
  await tx.query('DELETE FROM objects WHERE bucket = $1 AND key = $2', [bucket, key]);
  const newest = await tx.query<{ seq: string }>(
    'SELECT seq FROM object_versions WHERE bucket = $1 AND key = $2 ORDER BY seq DESC LIMIT 1',
    [bucket, key],
  );
  if (newest.length === 0) return;
  const params = [bucket, key, newest[0].seq];
  await tx.query(
    `INSERT INTO objects (bucket, key, ${VERSION_COLUMNS})
     SELECT bucket, key, ${VERSION_COLUMNS} FROM object_versions WHERE bucket = $1 AND key = $2 AND seq = $3`,
    params,
  );
  await tx.query('DELETE FROM object_versions WHERE bucket = $1 AND key = $2 AND seq = $3', params);
}

/** Drops what versions own besides their row: chunk references and part boundaries. */
export async function dropVersionData(tx: SqlQueryable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.query('DELETE FROM chunk_refs WHERE owner = ANY($1::UUID[])', [ids]);
  await tx.query('DELETE FROM object_parts WHERE owner = ANY($1::UUID[])', [ids]);
}

/** SQL matching one version of a key by S3 version id, with the two `versionParams` as
 * parameters $n and $n+1: true selects the null version, else the second is its UUID. */
export function versionMatch(n: number): string {
  return `(($${n}::BOOL AND null_version) OR (NOT null_version AND version_id = $${n + 1}::UUID))`;
}

export function versionParams(versionId: string): [boolean, string | null] {
  return versionId === 'null' ? [true, null] : [false, versionId];
}

/** Rows per multi-row INSERT: large enough to amortise a round trip, small enough to stay
 * far below the 65,535-parameter limit of the wire protocol. */
const INSERT_BATCH = 1000;

export async function insertChunkRefs(tx: SqlQueryable, owner: string, chunks: ChunkRef[]): Promise<void> {
  for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
    const batch = chunks.slice(i, i + INSERT_BATCH);
    const params: unknown[] = [owner];
    const values = batch.map((c) => {
      params.push(c.pos, c.address, c.size);
      const n = params.length;
      return `($1, $${n - 2}, $${n - 1}, $${n})`;
    });
    await tx.query(`INSERT INTO chunk_refs (owner, pos, address, size) VALUES ${values.join(', ')}`, params);
  }
}

