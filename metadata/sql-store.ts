import {
  type Bucket,
  type BucketPatch,
  type BucketPageQuery,
  type BucketUsage,
  type ChunkRef,
  type CompletedObject,
  type DeleteOptions,
  type DeleteResult,
  type DeleteTarget,
  type Grant,
  type ListPage,
  type ListQuery,
  type MetadataStore,
  type NewObject,
  type NewBucket,
  type NewPart,
  type NewUpload,
  type ObjectPart,
  type ObjectSummary,
  type ObjectVersion,
  type Part,
  type Retention,
  type Tags,
  type Upload,
  type UploadPage,
  type UploadQuery,
  type VersionPage,
  type VersionQuery,
  type WriteCondition,
  type WriteResult,
  MetadataError,
} from './store';
import { type SqlClient, type SqlQueryable, inTransaction } from './sql';
import { migrate } from './schema';
import {
  type VersionRow,
  VERSION_COLUMNS,
  versionMatch,
  bucketVersioning,
  checkWriteCondition,
  dropVersionData,
  insertChunkRefs,
  installVersion,
  createVersion,
  keyBytes,
  lockCurrent,
  removeCurrent,
  s3VersionId,
  toObject,
  versionParams,
  tagsOf,
} from './sql-versions';
import * as uploads from './sql-uploads';
import { defaultRetention, lockColumns, lockedNow, setLegalHold, setRetention } from './sql-lock';
import { type Cursor, cursorAfter, nextKey, walk } from './sql-walk';
import { randomUUID } from 'node:crypto';
import { ClusterStore } from './cluster-store';
import { SqlIamStore } from './sql-iam';
import { SqlLifecycleStore } from './sql-lifecycle';

/** MetadataStore on any PostgreSQL-wire database (PGlite, PostgreSQL, CockroachDB). */
export class SqlMetadataStore implements MetadataStore {
  /** Membership, repair queue and job leases of the storage-node tier. */
  readonly cluster: ClusterStore;
  /** Users, their access keys and named policies. */
  readonly iam: SqlIamStore;
  /** The pages lifecycle rules are evaluated on. */
  readonly lifecycle: SqlLifecycleStore;

  private constructor(private readonly db: SqlClient) {
    this.cluster = new ClusterStore(db);
    this.iam = new SqlIamStore(db);
    this.lifecycle = new SqlLifecycleStore(db);
  }

  static async open(db: SqlClient): Promise<SqlMetadataStore> {
    await migrate(db);
    return new SqlMetadataStore(db);
  }

  async createBucket(bucket: NewBucket): Promise<void> {
    const inserted = await this.db.query(
      `INSERT INTO buckets (name, owner, region, acl, ownership, object_lock, versioning) VALUES ($1, $2, $3, $4::JSONB, $5, $6::JSONB, $7)
       ON CONFLICT (name) DO NOTHING RETURNING name`,
      [
        bucket.name, bucket.owner, bucket.region, bucket.acl ? JSON.stringify(bucket.acl) : null, bucket.ownership ?? null,
        bucket.objectLock ? JSON.stringify(bucket.objectLock) : null, bucket.objectLock ? 'Enabled' : null,
      ],
    );
    if (inserted.length > 0) return;
    const existing = await this.getBucket(bucket.name);
    throw new MetadataError(existing?.owner === bucket.owner ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists');
  }

  async getBucket(name: string): Promise<Bucket | undefined> {
    const rows = await this.db.query<BucketRow>(`SELECT ${BUCKET_COLUMNS} FROM buckets WHERE name = $1`, [name]);
    return rows[0] && toBucket(rows[0]);
  }

  async updateBucket(name: string, patch: BucketPatch): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [name];
    const set = (column: string, value: unknown, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    const json = (column: string, value: unknown) => {
      if (value !== undefined) set(column, value && JSON.stringify(value), '::JSONB');
    };
    if (patch.versioning !== undefined) set('versioning', patch.versioning);
    json('cors', patch.cors);
    json('lifecycle', patch.lifecycle);
    json('tags', patch.tags && Object.entries(patch.tags));
    if (patch.policy !== undefined) set('policy', patch.policy);
    json('acl', patch.acl);
    if (patch.ownership !== undefined) set('ownership', patch.ownership);
    json('public_access_block', patch.publicAccessBlock);
    if (patch.quotaBytes !== undefined) set('quota_bytes', patch.quotaBytes, '::INT8');
    json('object_lock', patch.objectLock);
    if (sets.length === 0) return;
    // Object lock needs versioning Enabled, and keeps it so: checked by the update itself.
    const guards: string[] = [];
    if (patch.objectLock && patch.versioning !== 'Enabled') guards.push(`versioning = 'Enabled'`);
    if (patch.versioning !== undefined && patch.versioning !== 'Enabled') guards.push('object_lock IS NULL');
    const rows = await this.db.query(`UPDATE buckets SET ${sets.join(', ')} WHERE ${['name = $1', ...guards].join(' AND ')} RETURNING name`, params);
    if (rows.length > 0) return;
    await requireBucket(this.db, name);
    throw new MetadataError('InvalidBucketState');
  }

  /** A bucket is empty when no version or delete marker is left; unfinished multipart
   * uploads go with it, as on S3. */
  async deleteBucket(name: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await requireBucket(tx, name);
      const any = await tx.query(
        'SELECT 1 FROM objects WHERE bucket = $1 UNION ALL SELECT 1 FROM object_versions WHERE bucket = $1 LIMIT 1',
        [name],
      );
      if (any.length > 0) throw new MetadataError('BucketNotEmpty');
      await uploads.dropUploadsOf(tx, name);
      await tx.query('DELETE FROM buckets WHERE name = $1', [name]);
    });
  }

  async listBuckets(owner?: string, page: BucketPageQuery = {}): Promise<Bucket[]> {
    const rows = await this.db.query<BucketRow>(
      `SELECT ${BUCKET_COLUMNS} FROM buckets
        WHERE ($1::TEXT IS NULL OR owner = $1) AND ($2::TEXT IS NULL OR name > $2)
          AND ($3::TEXT IS NULL OR substr(name, 1, length($3)) = $3) AND ($4::TEXT IS NULL OR region = $4)
        ORDER BY name LIMIT $5`,
      // No limit is a limit no one reaches (LIMIT NULL is PostgreSQL's alone).
      [owner ?? null, page.after ?? null, page.prefix ?? null, page.region ?? null, page.limit ?? 2 ** 31 - 1],
    );
    return rows.map(toBucket);
  }

  async getObject(bucket: string, key: string, versionId?: string): Promise<ObjectVersion> {
    if (versionId === undefined) {
      // One round trip tells NoSuchBucket from NoSuchKey.
      const rows = await this.db.query<VersionRow & { key: Uint8Array; bucket_name: string }>(
        `SELECT b.name AS bucket_name, o.key, ${prefixed('o', VERSION_COLUMNS)}
           FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2
          WHERE b.name = $1`,
        [bucket, keyBytes(key)],
      );
      if (rows.length === 0) throw new MetadataError('NoSuchBucket');
      if (rows[0].version_id == null) throw new MetadataError('NoSuchKey');
      return toObject(bucket, rows[0], true);
    }
    const rows = await this.db.query<VersionRow & { key: Uint8Array; is_latest: boolean }>(
      `SELECT true AS is_latest, key, ${VERSION_COLUMNS} FROM objects WHERE bucket = $1 AND key = $2 AND ${versionMatch(3)}
       UNION ALL
       SELECT false AS is_latest, key, ${VERSION_COLUMNS} FROM object_versions WHERE bucket = $1 AND key = $2 AND ${versionMatch(3)}`,
      [bucket, keyBytes(key), ...versionParams(versionId)],
    );
    if (rows.length === 0) {
      await requireBucket(this.db, bucket);
      throw new MetadataError('NoSuchVersion');
    }
    return toObject(bucket, rows[0], rows[0].is_latest);
  }

  async getChunks(id: string, start: number, end: number): Promise<ChunkRef[]> {
    // The first chunk is the last one starting at or before `start`; found by a reverse
    // index seek, so a range near the end of a large object reads only its own chunks.
    const rows = await this.db.query<{ pos: string | number; address: string; size: string | number }>(
      `SELECT pos, address, size FROM chunk_refs
        WHERE owner = $1 AND pos <= $3
          AND pos >= COALESCE((SELECT max(pos) FROM chunk_refs WHERE owner = $1 AND pos <= $2), 0)
        ORDER BY pos`,
      [id, start, end],
    );
    return rows.map((r) => ({ pos: Number(r.pos), address: r.address, size: Number(r.size) }));
  }

  async putObject(object: NewObject, condition: WriteCondition = {}): Promise<WriteResult> {
    return inTransaction(this.db, async (tx) => {
      const { versioning, objectLock, now } = await bucketVersioning(tx, object.bucket);
      const key = keyBytes(object.key);
      if (Array.isArray(object.chunks)) {
        await insertChunkRefs(tx, object.id, object.chunks);
      } else {
        // CopyObject: share the source's chunks. If the source was deleted meanwhile its
        // references are gone, and so is the copy's right to the chunks.
        const copied = await tx.query(
          `INSERT INTO chunk_refs (owner, pos, address, size) SELECT $1, pos, address, size FROM chunk_refs WHERE owner = $2 RETURNING pos`,
          [object.id, object.chunks.copyOf],
        );
        if (copied.length === 0 && object.size > 0 && !object.inline) throw new MetadataError('NoSuchKey');
      }
      const row = {
        version_id: object.id, delete_marker: false, size: object.size, etag: object.etag, owner: object.owner,
        headers: object.headers, user_meta: object.userMetadata, checksums: object.checksums,
        checksum_type: object.checksumType ?? null, tags: object.tags, part_count: null, inline_data: object.inline ?? null,
        acl: object.acl ?? null, ...lockColumns(object.retention ?? defaultRetention(objectLock, now), object.legalHold),
      };
      // Most PUTs make a new key: the insert alone settles that (If-Match needs an existing one).
      if (!condition.ifMatch) {
        const created = await createVersion(tx, object.bucket, key, versioning, row);
        if (created !== undefined) return { versionId: created };
      }
      const current = await lockCurrent(tx, object.bucket, key);
      checkWriteCondition(condition, current);
      return { versionId: await installVersion(tx, object.bucket, key, versioning, current, row) };
    });
  }

  async deleteObject(bucket: string, key: string, versionId?: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    return (await this.deleteObjects(bucket, [{ key, versionId, bypassGovernance: options.bypassGovernance }]))[0];
  }

  async deleteObjects(bucket: string, targets: DeleteTarget[]): Promise<DeleteResult[]> {
    return inTransaction(this.db, async (tx) => {
      const { versioning, owner } = await bucketVersioning(tx, bucket);
      const conditional = targets.filter((t) => t.ifCurrent !== undefined).length;
      if (versioning === undefined && targets.every((t) => t.versionId === undefined) && (conditional === 0 || conditional === targets.length)) {
        // Nothing to keep: one statement for the whole batch (a bulk delete of 1,000 keys
        // from s3a or rclone, or a page of lifecycle expiries, is one round trip, not 1,000
        // transactions). Version ids are unique, so `ifCurrent` is a match on any of them.
        const gone = await tx.query<{ version_id: string }>(
          `DELETE FROM objects WHERE bucket = $1 AND key IN (SELECT decode(k, 'hex') FROM unnest($2::TEXT[]) AS k)
             AND ($3::UUID[] IS NULL OR version_id = ANY($3::UUID[]))
           RETURNING version_id`,
          [bucket, targets.map((t) => keyBytes(t.key).toString('hex')), conditional ? targets.map((t) => t.ifCurrent) : null],
        );
        await dropVersionData(tx, gone.map((r) => r.version_id));
        if (!conditional) return targets.map(() => ({ deleteMarker: false }));
        const removed = new Set(gone.map((r) => r.version_id));
        return targets.map((t) => (removed.has(t.ifCurrent!) ? { deleteMarker: false } : { deleteMarker: false, unchanged: true }));
      }
      const results: DeleteResult[] = [];
      for (const t of targets) results.push(await deleteOne(tx, bucket, versioning, owner, keyBytes(t.key), t));
      return results;
    });
  }

  putObjectTags(bucket: string, key: string, versionId: string | undefined, tags: Tags): Promise<string> {
    return this.setVersionJson(bucket, key, versionId, 'tags', Object.entries(tags));
  }

  putObjectRetention(bucket: string, key: string, versionId: string | undefined, retention: Retention | null, options: DeleteOptions = {}): Promise<string> {
    return inTransaction(this.db, (tx) => setRetention(tx, bucket, key, versionId, retention, options));
  }

  putObjectLegalHold(bucket: string, key: string, versionId: string | undefined, on: boolean): Promise<string> {
    return inTransaction(this.db, (tx) => setLegalHold(tx, bucket, key, versionId, on));
  }

  putObjectAcl(bucket: string, key: string, versionId: string | undefined, acl: Grant[]): Promise<string> {
    return this.setVersionJson(bucket, key, versionId, 'acl', acl);
  }

  /** Sets a JSONB column of one version (the current one without versionId) wherever its row
   * lives; returns its S3 version id. Delete markers have neither tags nor an ACL. */
  private setVersionJson(bucket: string, key: string, versionId: string | undefined, column: 'tags' | 'acl', value: unknown): Promise<string> {
    type Updated = { version_id: string; null_version: boolean; delete_marker: boolean };
    return inTransaction(this.db, async (tx) => {
      const params = [bucket, keyBytes(key), JSON.stringify(value)];
      const update = (table: string) =>
        tx.query<Updated>(
          `UPDATE ${table} SET ${column} = $3::JSONB WHERE bucket = $1 AND key = $2 ${versionId === undefined ? '' : `AND ${versionMatch(4)}`}
           RETURNING version_id, null_version, delete_marker`,
          versionId === undefined ? params : [...params, ...versionParams(versionId)],
        );
      let rows = await update('objects');
      if (rows.length === 0 && versionId !== undefined) rows = await update('object_versions');
      if (rows.length === 0) {
        await requireBucket(tx, bucket);
        throw new MetadataError(versionId === undefined ? 'NoSuchKey' : 'NoSuchVersion');
      }
      // A delete marker: S3 answers 405 when it is named, 404 when it is current.
      if (rows[0].delete_marker) throw new MetadataError(versionId === undefined ? 'NoSuchKey' : 'MethodNotAllowed');
      return s3VersionId(rows[0]);
    });
  }

  /** Current objects in byte order of keys; delete markers are not listed. */
  async listObjects(q: ListQuery): Promise<ListPage> {
    await requireBucket(this.db, q.bucket);
    const prefix = keyBytes(q.prefix);
    const delimiter = delimiterBytes(q.delimiter);
    const { entries, truncated } = await walk<SummaryRow, never>(
      {
        prefix, delimiter, max: q.maxKeys,
        fetch: (cursor, upper, limit) =>
          this.db.query<SummaryRow>(
            `SELECT key, size, etag, last_modified, owner, checksums, checksum_type FROM objects
              WHERE bucket = $1 AND key >= $2 AND ($3::BYTEA IS NULL OR key < $3) AND NOT delete_marker
              ORDER BY key LIMIT $4`,
            [q.bucket, cursor.from, upper ?? null, limit],
          ),
        keyOf: (r) => Buffer.from(r.key),
        after: (r) => ({ from: nextKey(Buffer.from(r.key)) }),
      },
      cursorAfter(q.after, prefix, delimiter),
    );
    const page: ListPage = { objects: [], commonPrefixes: [], isTruncated: truncated };
    for (const e of entries) {
      if ('prefix' in e) page.commonPrefixes.push((page.last = e.prefix));
      else page.last = page.objects[page.objects.push(toSummary(e.row)) - 1].key;
    }
    return page;
  }

  /** Versions by key, and within a key the current one first, then newest to oldest. */
  async listVersions(q: VersionQuery): Promise<VersionPage> {
    await requireBucket(this.db, q.bucket);
    const prefix = keyBytes(q.prefix);
    const delimiter = delimiterBytes(q.delimiter);
    let start: Cursor<number> = cursorAfter(q.keyMarker, prefix, delimiter);
    if (q.keyMarker !== '' && q.versionIdMarker !== '') {
      // Resume inside the marker's key, after that version; an unknown version resumes
      // after the whole key.
      const k = keyBytes(q.keyMarker);
      const [isNull, id] = versionParams(q.versionIdMarker);
      const found = await this.db.query<{ seq: string }>(
        `SELECT ${CURRENT_SEQ}::INT8 AS seq FROM objects WHERE bucket = $1 AND key = $2 AND ${versionMatch(3)}
         UNION ALL SELECT seq FROM object_versions WHERE bucket = $1 AND key = $2 AND ${versionMatch(3)}`,
        [q.bucket, k, isNull, id],
      );
      if (found.length > 0) start = { from: k, within: Number(found[0].seq) };
    }
    const { entries, truncated } = await walk<ListedVersion, number>(
      {
        prefix, delimiter, max: q.maxKeys,
        fetch: (cursor, upper, limit) =>
          this.db.query<ListedVersion>(
            `SELECT * FROM (
               SELECT key, ${CURRENT_SEQ}::INT8 AS seq, ${VERSION_COLUMNS} FROM objects
                WHERE bucket = $1 AND key >= $2 AND ($3::BYTEA IS NULL OR key < $3)
               UNION ALL
               SELECT key, seq, ${VERSION_COLUMNS} FROM object_versions
                WHERE bucket = $1 AND key >= $2 AND ($3::BYTEA IS NULL OR key < $3)
             ) v
             WHERE v.key > $2 OR $4::INT8 IS NULL OR v.seq < $4
             ORDER BY v.key, v.seq DESC LIMIT $5`,
            [q.bucket, cursor.from, upper ?? null, cursor.within ?? null, limit],
          ),
        keyOf: (r) => Buffer.from(r.key),
        after: (r) => ({ from: Buffer.from(r.key), within: Number(r.seq) }),
      },
      start,
    );
    const page: VersionPage = { versions: [], commonPrefixes: [], isTruncated: truncated };
    for (const e of entries) {
      if ('prefix' in e) {
        page.commonPrefixes.push(e.prefix);
        page.nextKeyMarker = e.prefix;
        page.nextVersionIdMarker = undefined;
      } else {
        const v = { ...toSummary(e.row), versionId: s3VersionId(e.row), isLatest: Number(e.row.seq) === CURRENT_SEQ, deleteMarker: e.row.delete_marker };
        page.versions.push(v);
        page.nextKeyMarker = v.key;
        page.nextVersionIdMarker = v.versionId;
      }
    }
    if (!truncated) page.nextKeyMarker = page.nextVersionIdMarker = undefined;
    return page;
  }

  createUpload(upload: NewUpload): Promise<void> {
    return uploads.createUpload(this.db, upload);
  }

  getUpload(bucket: string, key: string, uploadId: string): Promise<Upload> {
    return uploads.getUpload(this.db, bucket, key, uploadId);
  }

  putPart(part: NewPart): Promise<void> {
    return inTransaction(this.db, (tx) => uploads.putPart(tx, part));
  }

  listParts(uploadId: string, after: number, max: number): Promise<Part[]> {
    return uploads.listParts(this.db, uploadId, after, max);
  }

  async listUploads(q: UploadQuery): Promise<UploadPage> {
    await requireBucket(this.db, q.bucket);
    return uploads.listUploads(this.db, q);
  }

  completeUpload(
    upload: { bucket: string; key: string; uploadId: string },
    parts: { partNumber: number; etag: string }[],
    object: CompletedObject,
    condition: WriteCondition = {},
  ): Promise<WriteResult> {
    return inTransaction(this.db, async (tx) => {
      const { versioning, objectLock, now } = await bucketVersioning(tx, upload.bucket);
      const key = keyBytes(upload.key);
      const current = await lockCurrent(tx, upload.bucket, key);
      checkWriteCondition(condition, current);
      const adopted = await uploads.adoptParts(tx, upload, parts, object.id);
      const versionId = await installVersion(tx, upload.bucket, key, versioning, current, {
        version_id: object.id, delete_marker: false, size: adopted.size, etag: object.etag, owner: object.owner,
        headers: object.headers, user_meta: object.userMetadata, checksums: object.checksums,
        checksum_type: object.checksumType ?? null, tags: object.tags, part_count: parts.length, inline_data: null,
        acl: object.acl ?? adopted.acl ?? null, ...lockColumns(object.retention ?? defaultRetention(objectLock, now), object.legalHold),
      });
      return { versionId };
    });
  }

  async completedVersion(bucket: string, key: string, uploadId: string): Promise<ObjectVersion | undefined> {
    const rows = await this.db.query<VersionRow & { key: Uint8Array; is_latest: boolean }>(
      `SELECT true AS is_latest, key, ${VERSION_COLUMNS} FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3
       UNION ALL
       SELECT false AS is_latest, key, ${VERSION_COLUMNS} FROM object_versions WHERE bucket = $1 AND key = $2 AND version_id = $3`,
      [bucket, keyBytes(key), uploadId],
    );
    return rows[0] && toObject(bucket, rows[0], rows[0].is_latest);
  }

  getObjectParts(id: string, after: number, max: number): Promise<ObjectPart[]> {
    return uploads.getObjectParts(this.db, id, after, max);
  }

  abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    return inTransaction(this.db, (tx) => uploads.abortUpload(tx, bucket, key, uploadId));
  }

  staleUploads(before: Date, limit: number): Promise<{ bucket: string; key: string; uploadId: string }[]> {
    return uploads.staleUploads(this.db, before, limit);
  }

  /**
   * Every version that is not a delete marker counts, current or not. Physical bytes count a
   * chunk address once however many versions share it (dedup), plus the inline bodies. The
   * database aggregates in one statement; no version row comes back to the gateway.
   */
  async bucketUsage(bucket: string): Promise<BucketUsage> {
    await requireBucket(this.db, bucket);
    const [row] = await this.db.query<{ n: string; logical: string; in_rows: string; chunked: string }>(
      `WITH v AS (
         SELECT version_id, size, inline_data IS NOT NULL AS is_inline FROM objects WHERE bucket = $1 AND NOT delete_marker
         UNION ALL
         SELECT version_id, size, inline_data IS NOT NULL AS is_inline FROM object_versions WHERE bucket = $1 AND NOT delete_marker
       )
       SELECT count(*) AS n, COALESCE(sum(size), 0) AS logical,
              COALESCE(sum(CASE WHEN is_inline THEN size ELSE 0 END), 0) AS in_rows,
              (SELECT COALESCE(sum(d.size), 0) FROM (
                 SELECT c.address, max(c.size) AS size FROM chunk_refs c JOIN v ON c.owner = v.version_id GROUP BY c.address
               ) d) AS chunked
         FROM v`,
      [bucket],
    );
    return { objects: Number(row.n), logicalBytes: Number(row.logical), physicalBytes: Number(row.in_rows) + Number(row.chunked) };
  }

  async referencedChunks(addresses: string[]): Promise<string[]> {
    if (addresses.length === 0) return [];
    const rows = await this.db.query<{ address: string }>(
      'SELECT DISTINCT address FROM chunk_refs WHERE address = ANY($1::TEXT[])',
      [addresses],
    );
    return rows.map((r) => r.address);
  }

  async objectBytes(): Promise<number> {
    const [row] = await this.db.query<{ n: string }>(
      'SELECT (SELECT COALESCE(sum(size), 0) FROM objects) + (SELECT COALESCE(sum(size), 0) FROM object_versions) AS n',
    );
    return Number(row.n);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

const BUCKET_COLUMNS = 'name, owner, region, created_at, versioning, cors, lifecycle, tags, policy, acl, ownership, public_access_block, quota_bytes, object_lock';

/** Stands for the current version in version order: above every noncurrent seq. */
const CURRENT_SEQ = 9007199254740991;

interface BucketRow {
  name: string;
  owner: string;
  region: string;
  created_at: Date;
  versioning: Bucket['versioning'] | null;
  cors: Bucket['cors'] | null;
  lifecycle: Bucket['lifecycle'] | null;
  tags: Bucket['tags'] | null;
  policy: string | null;
  acl: Grant[] | null;
  ownership: Bucket['ownership'] | null;
  public_access_block: Bucket['publicAccessBlock'] | null;
  quota_bytes: string | number | null;
  object_lock: Bucket['objectLock'] | null;
}

type SummaryRow = Pick<VersionRow, 'size' | 'etag' | 'last_modified' | 'owner' | 'checksums' | 'checksum_type'> & { key: Uint8Array };

type ListedVersion = VersionRow & { key: Uint8Array; seq: string | number };

function prefixed(alias: string, columns: string): string {
  return columns.split(',').map((c) => `${alias}.${c.trim()}`).join(', ');
}

function delimiterBytes(delimiter: string): Buffer | undefined {
  return delimiter === '' ? undefined : Buffer.from(delimiter, 'utf8');
}

async function requireBucket(tx: SqlQueryable, name: string): Promise<void> {
  const rows = await tx.query('SELECT 1 FROM buckets WHERE name = $1', [name]);
  if (rows.length === 0) throw new MetadataError('NoSuchBucket');
}

/** S3 DELETE of one key inside a transaction (see MetadataStore.deleteObject). */
async function deleteOne(
  tx: SqlQueryable,
  bucket: string,
  versioning: Bucket['versioning'],
  owner: string,
  key: Buffer,
  { versionId, ifCurrent, noncurrent, bypassGovernance = false }: DeleteTarget,
): Promise<DeleteResult> {
  const guarded = ifCurrent !== undefined || noncurrent === true;
  const current = versionId === undefined || guarded ? await lockCurrent(tx, bucket, key) : undefined;
  if (guarded && (ifCurrent !== undefined ? current?.version_id !== ifCurrent : current !== undefined && s3VersionId(current) === versionId)) {
    return { deleteMarker: false, unchanged: true };
  }
  if (versionId !== undefined) return deleteVersion(tx, bucket, key, versionId, bypassGovernance);
  if (versioning === undefined) {
    if (current) {
      await removeCurrent(tx, bucket, key);
      await dropVersionData(tx, [current.version_id]);
    }
    return { deleteMarker: false };
  }
  const marker = await installVersion(tx, bucket, key, versioning, current, {
    version_id: randomUUID(), delete_marker: true, size: 0, etag: '', owner, headers: {}, user_meta: {},
    checksums: {}, checksum_type: null, tags: {}, part_count: null, inline_data: null, acl: null, ...lockColumns(),
  });
  return { versionId: marker, deleteMarker: true };
}

/** DELETE ?versionId: removes that version for good; deleting the current one promotes the
 * newest noncurrent version. An unknown version is not an error (S3 answers 204); a version
 * under object lock is left alone (`refused`), decided on its locked row. */
async function deleteVersion(tx: SqlQueryable, bucket: string, key: Buffer, versionId: string, bypassGovernance: boolean): Promise<DeleteResult> {
  type Gone = { version_id: string; delete_marker: boolean; locked?: boolean };
  const refused: DeleteResult = { deleteMarker: false, refused: 'ObjectLocked' };
  const params = [bucket, key, ...versionParams(versionId), bypassGovernance];
  const current = await tx.query<Gone>(
    `SELECT version_id, delete_marker, ${lockedNow(5)} AS locked FROM objects WHERE bucket = $1 AND key = $2 AND ${versionMatch(3)} FOR UPDATE`,
    params,
  );
  if (current[0]?.locked) return refused;
  let gone = current;
  if (current.length > 0) await removeCurrent(tx, bucket, key);
  else {
    gone = await tx.query<Gone>(
      `DELETE FROM object_versions WHERE bucket = $1 AND key = $2 AND ${versionMatch(3)} AND NOT ${lockedNow(5)} RETURNING version_id, delete_marker`,
      params,
    );
    // Nothing deleted: no such version, or a locked one.
    if (gone.length === 0 && (await tx.query(`SELECT 1 FROM object_versions WHERE bucket = $1 AND key = $2 AND ${versionMatch(3)}`, params.slice(0, 4))).length > 0) {
      return refused;
    }
  }
  await dropVersionData(tx, gone.map((r) => r.version_id));
  return { versionId, deleteMarker: gone[0]?.delete_marker ?? false };
}

function toBucket(r: BucketRow): Bucket {
  return {
    name: r.name,
    owner: r.owner,
    region: r.region,
    createdAt: new Date(r.created_at),
    ...(r.versioning ? { versioning: r.versioning } : {}),
    ...(r.cors ? { cors: r.cors } : {}),
    ...(r.lifecycle ? { lifecycle: r.lifecycle } : {}),
    ...(r.tags ? { tags: tagsOf(r.tags) } : {}),
    ...(r.policy != null ? { policy: r.policy } : {}),
    ...(r.acl ? { acl: r.acl } : {}),
    ...(r.ownership ? { ownership: r.ownership } : {}),
    ...(r.public_access_block ? { publicAccessBlock: r.public_access_block } : {}),
    ...(r.quota_bytes != null ? { quotaBytes: Number(r.quota_bytes) } : {}),
    ...(r.object_lock ? { objectLock: r.object_lock } : {}),
  };
}

function toSummary(r: SummaryRow): ObjectSummary {
  return {
    key: Buffer.from(r.key).toString('utf8'),
    size: Number(r.size),
    etag: r.etag,
    lastModified: new Date(r.last_modified),
    owner: r.owner,
    checksumAlgorithms: Object.keys(r.checksums),
    ...(r.checksum_type ? { checksumType: r.checksum_type as ObjectSummary['checksumType'] } : {}),
  };
}
