import {
  type AccessKey,
  type Bucket,
  type ChunkRef,
  type ListPage,
  type ListQuery,
  type MetadataStore,
  type NewObject,
  type ObjectSummary,
  type ObjectVersion,
  type WriteCondition,
  MetadataError,
} from './store';
import { type SqlClient, type SqlQueryable, inTransaction } from './sql';
import { migrate } from './schema';

/** Rows per multi-row INSERT: large enough to amortise a round trip, small enough to stay
 * far below the 65,535-parameter limit of the wire protocol. */
const INSERT_BATCH = 1000;

const OBJECT_COLUMNS = `o.key, o.version_id, o.size, o.etag, o.last_modified, o.owner, o.headers,
  o.user_meta, o.checksums, o.inline_data`;

/** MetadataStore on any PostgreSQL-wire database (PGlite, PostgreSQL, CockroachDB). */
export class SqlMetadataStore implements MetadataStore {
  private constructor(private readonly db: SqlClient) {}

  static async open(db: SqlClient): Promise<SqlMetadataStore> {
    await migrate(db);
    return new SqlMetadataStore(db);
  }

  async createBucket(bucket: { name: string; owner: string; region: string }): Promise<void> {
    const inserted = await this.db.query(
      `INSERT INTO buckets (name, owner, region) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name`,
      [bucket.name, bucket.owner, bucket.region],
    );
    if (inserted.length > 0) return;
    const existing = await this.getBucket(bucket.name);
    throw new MetadataError(existing?.owner === bucket.owner ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists');
  }

  async getBucket(name: string): Promise<Bucket | undefined> {
    const rows = await this.db.query<BucketRow>('SELECT name, owner, region, created_at FROM buckets WHERE name = $1', [name]);
    return rows[0] && toBucket(rows[0]);
  }

  async deleteBucket(name: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await requireBucket(tx, name);
      const any = await tx.query('SELECT 1 FROM objects WHERE bucket = $1 LIMIT 1', [name]);
      if (any.length > 0) throw new MetadataError('BucketNotEmpty');
      await tx.query('DELETE FROM buckets WHERE name = $1', [name]);
    });
  }

  async listBuckets(owner?: string): Promise<Bucket[]> {
    const rows = await this.db.query<BucketRow>(
      'SELECT name, owner, region, created_at FROM buckets WHERE $1::TEXT IS NULL OR owner = $1 ORDER BY name',
      [owner ?? null],
    );
    return rows.map(toBucket);
  }

  async getObject(bucket: string, key: string): Promise<ObjectVersion> {
    // One round trip tells NoSuchBucket from NoSuchKey.
    const rows = await this.db.query<ObjectRow & { bucket_name: string }>(
      `SELECT b.name AS bucket_name, ${OBJECT_COLUMNS}
         FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2
        WHERE b.name = $1`,
      [bucket, keyBytes(key)],
    );
    if (rows.length === 0) throw new MetadataError('NoSuchBucket');
    if (rows[0].version_id == null) throw new MetadataError('NoSuchKey');
    return toObject(bucket, rows[0]);
  }

  async getChunks(versionId: string, start: number, end: number): Promise<ChunkRef[]> {
    // The first chunk is the last one starting at or before `start`; found by a reverse
    // index seek, so a range near the end of a large object reads only its own chunks.
    const rows = await this.db.query<{ pos: string | number; address: string; size: string | number }>(
      `SELECT pos, address, size FROM chunk_refs
        WHERE owner = $1 AND pos <= $3
          AND pos >= COALESCE((SELECT max(pos) FROM chunk_refs WHERE owner = $1 AND pos <= $2), 0)
        ORDER BY pos`,
      [versionId, start, end],
    );
    return rows.map((r) => ({ pos: Number(r.pos), address: r.address, size: Number(r.size) }));
  }

  async putObject(object: NewObject, condition: WriteCondition = {}): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await requireBucket(tx, object.bucket);
      const key = keyBytes(object.key);
      const current = (
        await tx.query<{ version_id: string; etag: string }>(
          'SELECT version_id, etag FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE',
          [object.bucket, key],
        )
      )[0];
      checkWriteCondition(condition, current?.etag);
      if (current) await tx.query('DELETE FROM chunk_refs WHERE owner = $1', [current.version_id]);
      await tx.query(
        `INSERT INTO objects (bucket, key, version_id, size, etag, last_modified, owner, headers, user_meta, checksums, inline_data)
         VALUES ($1, $2, $3, $4, $5, now(), $6, $7::JSONB, $8::JSONB, $9::JSONB, $10)
         ON CONFLICT (bucket, key) DO UPDATE SET
           version_id = excluded.version_id, size = excluded.size, etag = excluded.etag,
           last_modified = excluded.last_modified, owner = excluded.owner, headers = excluded.headers,
           user_meta = excluded.user_meta, checksums = excluded.checksums, inline_data = excluded.inline_data`,
        [
          object.bucket,
          key,
          object.versionId,
          object.size,
          object.etag,
          object.owner,
          JSON.stringify(object.headers),
          JSON.stringify(object.userMetadata),
          JSON.stringify(object.checksums),
          object.inline ?? null,
        ],
      );
      await insertChunkRefs(tx, object.versionId, object.chunks);
    });
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await requireBucket(tx, bucket);
      const gone = await tx.query<{ version_id: string }>(
        'DELETE FROM objects WHERE bucket = $1 AND key = $2 RETURNING version_id',
        [bucket, keyBytes(key)],
      );
      for (const row of gone) await tx.query('DELETE FROM chunk_refs WHERE owner = $1', [row.version_id]);
    });
  }

  /**
   * A page of keys in byte order. With a delimiter, each common prefix is reported once and
   * then skipped by seeking to the first key after it, so a prefix holding a million keys
   * costs one extra query, not a million rows.
   */
  async listObjects(q: ListQuery): Promise<ListPage> {
    await requireBucket(this.db, q.bucket);
    const page: ListPage = { objects: [], commonPrefixes: [], isTruncated: false };
    if (q.maxKeys <= 0) return page;
    const prefix = keyBytes(q.prefix);
    const upper = successor(prefix);
    const delimiter = q.delimiter === '' ? undefined : Buffer.from(q.delimiter, 'utf8');
    // Inclusive lower bound: just after `after`, and not before the prefix. An `after` that
    // is itself a common prefix (a NextMarker or token we returned) resumes past all its keys.
    const after = keyBytes(q.after);
    const afterIsPrefix = delimiter && after.indexOf(delimiter, prefix.length) === after.length - delimiter.length;
    let from = (afterIsPrefix && successor(after)) || Buffer.concat([after, ZERO]);
    if (Buffer.compare(from, prefix) < 0) from = prefix;
    // With a delimiter, start small and grow while batches hold distinct entries; shrink when
    // a batch ends inside a common prefix, since the rest of it would be skipped anyway.
    let batch = delimiter ? Math.min(q.maxKeys + 1, 64) : q.maxKeys + 1;
    for (;;) {
      const rows = await this.db.query<ObjectRow>(
        `SELECT o.key, o.size, o.etag, o.last_modified, o.owner FROM objects o
          WHERE o.bucket = $1 AND o.key >= $2 AND ($3::BYTEA IS NULL OR o.key < $3)
          ORDER BY o.key LIMIT $4`,
        [q.bucket, from, upper ?? null, batch],
      );
      let seekPast: Buffer | undefined;
      for (const row of rows) {
        const key = Buffer.from(row.key);
        if (seekPast && Buffer.compare(key, seekPast) < 0) continue; // inside the prefix just reported
        seekPast = undefined;
        const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
        const entries = page.objects.length + page.commonPrefixes.length;
        if (entries === q.maxKeys) {
          page.isTruncated = true;
          return page;
        }
        if (cut >= 0) {
          const common = key.subarray(0, cut + delimiter!.length);
          page.commonPrefixes.push(common.toString('utf8'));
          page.last = common.toString('utf8');
          seekPast = successor(common);
          if (!seekPast) return page; // nothing can sort after a prefix of 0xFF bytes
        } else {
          page.objects.push(toSummary(row));
          page.last = key.toString('utf8');
        }
      }
      if (rows.length < batch) return page; // the range is exhausted
      if (seekPast) {
        from = seekPast;
        batch = Math.max(16, batch >> 2);
      } else {
        from = Buffer.concat([Buffer.from(rows[rows.length - 1].key), ZERO]);
        batch = Math.min(q.maxKeys + 1, batch * 2);
      }
    }
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKey | undefined> {
    const rows = await this.db.query<{ access_key_id: string; secret_key: string; owner: string; display_name: string }>(
      'SELECT access_key_id, secret_key, owner, display_name FROM access_keys WHERE access_key_id = $1',
      [accessKeyId],
    );
    const r = rows[0];
    return r && { accessKeyId: r.access_key_id, secretKey: r.secret_key, owner: r.owner, displayName: r.display_name };
  }

  async putAccessKey(key: AccessKey): Promise<void> {
    await this.db.query(
      `INSERT INTO access_keys (access_key_id, secret_key, owner, display_name) VALUES ($1, $2, $3, $4)
       ON CONFLICT (access_key_id) DO UPDATE SET secret_key = excluded.secret_key, owner = excluded.owner,
         display_name = excluded.display_name`,
      [key.accessKeyId, key.secretKey, key.owner, key.displayName],
    );
  }

  async referencedChunks(addresses: string[]): Promise<string[]> {
    if (addresses.length === 0) return [];
    const rows = await this.db.query<{ address: string }>(
      'SELECT DISTINCT address FROM chunk_refs WHERE address = ANY($1::TEXT[])',
      [addresses],
    );
    return rows.map((r) => r.address);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

interface BucketRow {
  name: string;
  owner: string;
  region: string;
  created_at: Date;
}

interface ObjectRow {
  key: Uint8Array;
  version_id: string | null;
  size: string | number;
  etag: string;
  last_modified: Date;
  owner: string;
  headers: Record<string, string>;
  user_meta: Record<string, string>;
  checksums: Record<string, string>;
  inline_data: Uint8Array | null;
}

const ZERO = Buffer.alloc(1);

function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

/** The smallest byte string greater than every string that starts with `prefix`, or
 * undefined when there is none (empty prefix, or all 0xFF). */
function successor(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const next = Buffer.from(prefix.subarray(0, i + 1));
      next[i]++;
      return next;
    }
  }
  return undefined;
}

async function requireBucket(tx: SqlQueryable, name: string): Promise<void> {
  const rows = await tx.query('SELECT 1 FROM buckets WHERE name = $1', [name]);
  if (rows.length === 0) throw new MetadataError('NoSuchBucket');
}

function checkWriteCondition(condition: WriteCondition, currentEtag: string | undefined): void {
  if (condition.ifNoneMatch === '*' && currentEtag !== undefined) throw new MetadataError('PreconditionFailed');
  if (condition.ifMatch) {
    if (currentEtag === undefined) throw new MetadataError('NoSuchKey');
    if (!condition.ifMatch.some((e) => e === '*' || e === currentEtag)) throw new MetadataError('PreconditionFailed');
  }
}

async function insertChunkRefs(tx: SqlQueryable, owner: string, chunks: ChunkRef[]): Promise<void> {
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

function toBucket(r: BucketRow): Bucket {
  return { name: r.name, owner: r.owner, region: r.region, createdAt: new Date(r.created_at) };
}

function toSummary(r: ObjectRow): ObjectSummary {
  return {
    key: Buffer.from(r.key).toString('utf8'),
    size: Number(r.size),
    etag: r.etag,
    lastModified: new Date(r.last_modified),
    owner: r.owner,
  };
}

function toObject(bucket: string, r: ObjectRow): ObjectVersion {
  return {
    ...toSummary(r),
    bucket,
    versionId: r.version_id!,
    headers: r.headers,
    userMetadata: r.user_meta,
    checksums: r.checksums,
    inline: r.inline_data ?? undefined,
  };
}
