import type { SqlQueryable } from './sql';
import { type Grant, type NewPart, type RetentionMode, type NewUpload, type ObjectPart, type Part, type Upload, type UploadPage, type UploadQuery, MetadataError } from './store';
import { insertChunkRefs, keyBytes, tagsJson, tagsOf } from './sql-versions';
import { cursorAfter, walk, type Cursor } from './sql-walk';

/**
 * Multipart uploads. A part's chunks are referenced by the part's own id, exactly like an
 * object version's, so GC sees them; completing an upload re-owns them, in order and at
 * their offsets, by the new version: a metadata operation, no data is copied.
 */

const UPLOAD_COLUMNS =
  'bucket, key, upload_id, owner, initiated, headers, user_meta, tags, checksum_algorithm, checksum_type, acl, retention_mode, retain_until, legal_hold';

/** Rows per multi-row INSERT of part boundaries (6 parameters each, under the 65,535 limit). */
const PART_BATCH = 1000;

interface UploadRow {
  bucket: string;
  key: Uint8Array;
  upload_id: string;
  owner: string;
  initiated: Date;
  headers: Record<string, string>;
  user_meta: Record<string, string>;
  tags: Record<string, string>;
  checksum_algorithm: string | null;
  checksum_type: NewUpload['checksumType'] | null;
  acl: Grant[] | null;
  retention_mode: RetentionMode | null;
  retain_until: Date | null;
  legal_hold: boolean | null;
}

interface PartRow {
  part_number: string | number;
  id: string;
  size: string | number;
  etag: string;
  checksums: Record<string, string>;
  last_modified: Date;
}

export async function createUpload(db: SqlQueryable, u: NewUpload): Promise<void> {
  const rows = await db.query(
    `INSERT INTO uploads (bucket, key, upload_id, owner, headers, user_meta, tags, checksum_algorithm, checksum_type, acl,
       retention_mode, retain_until, legal_hold)
     SELECT name, $2, $3, $4, $5::JSONB, $6::JSONB, $7::JSONB, $8, $9, $10::JSONB, $11, $12::TIMESTAMPTZ, $13::BOOL
       FROM buckets WHERE name = $1 RETURNING upload_id`,
    [
      u.bucket, keyBytes(u.key), u.uploadId, u.owner, JSON.stringify(u.headers), JSON.stringify(u.userMetadata),
      tagsJson(u.tags), u.checksumAlgorithm ?? null, u.checksumType ?? null, u.acl ? JSON.stringify(u.acl) : null,
      u.retention?.mode ?? null, u.retention?.until ?? null, u.legalHold ?? null,
    ],
  );
  if (rows.length === 0) throw new MetadataError('NoSuchBucket');
}

export async function getUpload(db: SqlQueryable, bucket: string, key: string, uploadId: string): Promise<Upload> {
  const rows = await db.query<UploadRow>(
    `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE bucket = $1 AND key = $2 AND upload_id = $3`,
    [bucket, keyBytes(key), uploadId],
  );
  if (rows.length === 0) throw new MetadataError('NoSuchUpload');
  return toUpload(rows[0]);
}

export async function putPart(tx: SqlQueryable, part: NewPart): Promise<void> {
  const upload = await tx.query('SELECT 1 FROM uploads WHERE upload_id = $1', [part.uploadId]);
  if (upload.length === 0) throw new MetadataError('NoSuchUpload');
  const replaced = await tx.query<{ id: string }>(
    'SELECT id FROM parts WHERE upload_id = $1 AND part_number = $2 FOR UPDATE',
    [part.uploadId, part.partNumber],
  );
  if (replaced.length > 0) await tx.query('DELETE FROM chunk_refs WHERE owner = $1', [replaced[0].id]);
  await tx.query(
    `INSERT INTO parts (upload_id, part_number, id, size, etag, checksums, last_modified)
     VALUES ($1, $2, $3, $4, $5, $6::JSONB, now())
     ON CONFLICT (upload_id, part_number) DO UPDATE SET id = excluded.id, size = excluded.size, etag = excluded.etag,
       checksums = excluded.checksums, last_modified = excluded.last_modified`,
    [part.uploadId, part.partNumber, part.id, part.size, part.etag, JSON.stringify(part.checksums)],
  );
  await insertChunkRefs(tx, part.id, part.chunks);
}

export async function listParts(db: SqlQueryable, uploadId: string, after: number, max: number): Promise<Part[]> {
  const rows = await db.query<PartRow>(
    `SELECT part_number, id, size, etag, checksums, last_modified FROM parts
      WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`,
    [uploadId, after, max],
  );
  return rows.map((r) => ({
    partNumber: Number(r.part_number), id: r.id, size: Number(r.size), etag: r.etag, checksums: r.checksums,
    lastModified: new Date(r.last_modified),
  }));
}

/** Uploads by key, and within a key by upload id, as S3 orders them. */
export async function listUploads(db: SqlQueryable, q: UploadQuery): Promise<UploadPage> {
  const prefix = keyBytes(q.prefix);
  const delimiter = q.delimiter === '' ? undefined : Buffer.from(q.delimiter, 'utf8');
  const start: Cursor<string> =
    q.keyMarker !== '' && q.uploadIdMarker !== ''
      ? { from: keyBytes(q.keyMarker), within: q.uploadIdMarker }
      : cursorAfter(q.keyMarker, prefix, delimiter);
  const { entries, truncated } = await walk<UploadRow, string>(
    {
      prefix, delimiter, max: q.maxUploads,
      fetch: (cursor, upper, limit) =>
        db.query<UploadRow>(
          `SELECT ${UPLOAD_COLUMNS} FROM uploads
            WHERE bucket = $1 AND key >= $2 AND ($3::BYTEA IS NULL OR key < $3)
              AND (key > $2 OR $4::TEXT IS NULL OR upload_id::TEXT > $4)
            ORDER BY key, upload_id LIMIT $5`,
          [q.bucket, cursor.from, upper ?? null, cursor.within ?? null, limit],
        ),
      keyOf: (r) => Buffer.from(r.key),
      after: (r) => ({ from: Buffer.from(r.key), within: r.upload_id }),
    },
    start,
  );
  const page: UploadPage = { uploads: [], commonPrefixes: [], isTruncated: truncated };
  for (const e of entries) {
    if ('prefix' in e) {
      page.commonPrefixes.push(e.prefix);
      page.nextKeyMarker = e.prefix;
      page.nextUploadIdMarker = undefined;
    } else {
      const u = toUpload(e.row);
      page.uploads.push(u);
      page.nextKeyMarker = u.key;
      page.nextUploadIdMarker = u.uploadId;
    }
  }
  if (!truncated) page.nextKeyMarker = page.nextUploadIdMarker = undefined;
  return page;
}

/**
 * Hands the chosen parts' chunks to the object version `owner`, each part shifted to its
 * offset, records the part boundaries, and drops the upload. Returns the object's size and
 * the ACL given at CreateMultipartUpload.
 */
export async function adoptParts(
  tx: SqlQueryable,
  upload: { bucket: string; key: string; uploadId: string },
  chosen: { partNumber: number; etag: string }[],
  owner: string,
): Promise<{ size: number; acl?: Grant[] }> {
  const exists = await tx.query<Pick<UploadRow, 'acl'>>(
    'SELECT acl FROM uploads WHERE bucket = $1 AND key = $2 AND upload_id = $3 FOR UPDATE',
    [upload.bucket, keyBytes(upload.key), upload.uploadId],
  );
  if (exists.length === 0) throw new MetadataError('NoSuchUpload');
  const rows = await tx.query<PartRow>(
    'SELECT part_number, id, size, etag, checksums, last_modified FROM parts WHERE upload_id = $1 AND part_number = ANY($2::INT8[])',
    [upload.uploadId, chosen.map((p) => p.partNumber)],
  );
  const byNumber = new Map(rows.map((r) => [Number(r.part_number), r]));
  const ids: string[] = [];
  const offsets: number[] = [];
  const boundaries: ObjectPart[] = [];
  let size = 0;
  for (const p of chosen) {
    const row = byNumber.get(p.partNumber);
    if (!row || row.etag !== p.etag) throw new MetadataError('InvalidPart');
    ids.push(row.id);
    offsets.push(size);
    boundaries.push({ partNumber: p.partNumber, pos: size, size: Number(row.size), etag: row.etag, checksums: row.checksums });
    size += Number(row.size);
  }
  await tx.query(
    `INSERT INTO chunk_refs (owner, pos, address, size)
     SELECT $1, c.pos + p.off, c.address, c.size
       FROM unnest($2::UUID[], $3::INT8[]) AS p (id, off) JOIN chunk_refs c ON c.owner = p.id`,
    [owner, ids, offsets],
  );
  await insertBoundaries(tx, owner, boundaries);
  await dropParts(tx, [upload.uploadId]);
  return { size, acl: exists[0].acl ?? undefined };
}

export async function getObjectParts(db: SqlQueryable, owner: string, after: number, max: number): Promise<ObjectPart[]> {
  const rows = await db.query<{ part_number: string; pos: string; size: string; etag: string; checksums: Record<string, string> }>(
    `SELECT part_number, pos, size, etag, checksums FROM object_parts
      WHERE owner = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`,
    [owner, after, max],
  );
  return rows.map((r) => ({ partNumber: Number(r.part_number), pos: Number(r.pos), size: Number(r.size), etag: r.etag, checksums: r.checksums }));
}

export async function abortUpload(tx: SqlQueryable, bucket: string, key: string, uploadId: string): Promise<void> {
  const exists = await tx.query('SELECT 1 FROM uploads WHERE bucket = $1 AND key = $2 AND upload_id = $3', [bucket, keyBytes(key), uploadId]);
  if (exists.length === 0) throw new MetadataError('NoSuchUpload');
  await dropParts(tx, [uploadId]);
}

export async function staleUploads(db: SqlQueryable, before: Date, limit: number): Promise<{ bucket: string; key: string; uploadId: string }[]> {
  const rows = await db.query<UploadRow>(
    'SELECT bucket, key, upload_id FROM uploads WHERE initiated < $1 ORDER BY initiated LIMIT $2',
    [before, limit],
  );
  return rows.map((r) => ({ bucket: r.bucket, key: Buffer.from(r.key).toString('utf8'), uploadId: r.upload_id }));
}

/** Drops every upload of a bucket that is being deleted. */
export async function dropUploadsOf(tx: SqlQueryable, bucket: string): Promise<void> {
  const rows = await tx.query<{ upload_id: string }>('SELECT upload_id FROM uploads WHERE bucket = $1', [bucket]);
  await dropParts(tx, rows.map((r) => r.upload_id));
}

/** Drops uploads with their parts and the parts' chunk references. */
async function dropParts(tx: SqlQueryable, uploadIds: string[]): Promise<void> {
  if (uploadIds.length === 0) return;
  await tx.query(
    'DELETE FROM chunk_refs WHERE owner IN (SELECT id FROM parts WHERE upload_id = ANY($1::UUID[]))',
    [uploadIds],
  );
  await tx.query('DELETE FROM parts WHERE upload_id = ANY($1::UUID[])', [uploadIds]);
  await tx.query('DELETE FROM uploads WHERE upload_id = ANY($1::UUID[])', [uploadIds]);
}

async function insertBoundaries(tx: SqlQueryable, owner: string, parts: ObjectPart[]): Promise<void> {
  for (let i = 0; i < parts.length; i += PART_BATCH) {
    const params: unknown[] = [owner];
    const values = parts.slice(i, i + PART_BATCH).map((p) => {
      params.push(p.partNumber, p.pos, p.size, p.etag, JSON.stringify(p.checksums));
      const n = params.length;
      return `($1, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n}::JSONB)`;
    });
    await tx.query(`INSERT INTO object_parts (owner, part_number, pos, size, etag, checksums) VALUES ${values.join(', ')}`, params);
  }
}

function toUpload(r: UploadRow): Upload {
  return {
    bucket: r.bucket,
    key: Buffer.from(r.key).toString('utf8'),
    uploadId: r.upload_id,
    owner: r.owner,
    initiated: new Date(r.initiated),
    headers: r.headers,
    userMetadata: r.user_meta,
    tags: tagsOf(r.tags),
    ...(r.checksum_algorithm ? { checksumAlgorithm: r.checksum_algorithm } : {}),
    ...(r.checksum_type ? { checksumType: r.checksum_type } : {}),
    ...(r.acl ? { acl: r.acl } : {}),
    ...(r.retention_mode && r.retain_until ? { retention: { mode: r.retention_mode, until: new Date(r.retain_until) } } : {}),
    ...(r.legal_hold != null ? { legalHold: r.legal_hold } : {}),
  };
}

