/**
 * The seam between the gateway and the metadata database. The gateway imports only this
 * interface; `SqlMetadataStore` implements it on any PostgreSQL-wire database, and on the
 * embedded default it runs inside a worker thread behind `WorkerMetadataStore`.
 */
export interface MetadataStore {
  createBucket(bucket: { name: string; owner: string; region: string }): Promise<void>;
  getBucket(name: string): Promise<Bucket | undefined>;
  /** Throws NoSuchBucket, or BucketNotEmpty while any object remains. */
  deleteBucket(name: string): Promise<void>;
  /** Buckets of one owner, or of everyone when owner is undefined. */
  listBuckets(owner?: string): Promise<Bucket[]>;

  /** The current object; throws NoSuchBucket or NoSuchKey. */
  getObject(bucket: string, key: string): Promise<ObjectVersion>;
  /** The chunks of a version that overlap [start, end] (inclusive byte offsets), in order. */
  getChunks(versionId: string, start: number, end: number): Promise<ChunkRef[]>;
  /** Commits a new current version in one transaction, after its chunks are durable.
   * The condition is checked inside that transaction, so of concurrent create-only
   * writers exactly one wins; the others get PreconditionFailed. */
  putObject(object: NewObject, condition?: WriteCondition): Promise<void>;
  /** Removes the current object, if any (S3 DELETE is idempotent). NoSuchBucket if no bucket. */
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(query: ListQuery): Promise<ListPage>;

  getAccessKey(accessKeyId: string): Promise<AccessKey | undefined>;
  putAccessKey(key: AccessKey): Promise<void>;

  /** Of the given chunk addresses, those some object still references (for GC). */
  referencedChunks(addresses: string[]): Promise<string[]>;
  close(): Promise<void>;
}

export interface Bucket {
  name: string;
  owner: string;
  region: string;
  createdAt: Date;
}

/** Content-Type, Content-Encoding, Cache-Control, …: stored as sent, returned as stored. */
export type SystemHeaders = Record<string, string>;

export interface ObjectVersion {
  bucket: string;
  key: string;
  /** Internal id of this version; owner of its chunk references. */
  versionId: string;
  size: number;
  /** Quoted, as S3 returns it. */
  etag: string;
  lastModified: Date;
  owner: string;
  headers: SystemHeaders;
  userMetadata: Record<string, string>;
  /** Verified checksums by algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), base64. */
  checksums: Record<string, string>;
  /** The whole body, when small enough to live in the row. */
  inline?: Uint8Array;
}

export type NewObject = Omit<ObjectVersion, 'lastModified'> & { chunks: ChunkRef[] };

export interface ChunkRef {
  /** Offset of the chunk's first byte within the object. */
  pos: number;
  address: string;
  size: number;
}

/** `If-None-Match: *` → ifNoneMatch '*'; `If-Match: "etag"` → ifMatch (quoted etags, or '*'). */
export interface WriteCondition {
  ifNoneMatch?: '*';
  ifMatch?: string[];
}

export interface ListQuery {
  bucket: string;
  prefix: string;
  delimiter: string;
  /** Keys strictly after this one (start-after, marker, or a decoded continuation token). */
  after: string;
  maxKeys: number;
}

export interface ListPage {
  objects: ObjectSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned, for NextMarker / a continuation token. */
  last?: string;
}

export type ObjectSummary = Pick<ObjectVersion, 'key' | 'size' | 'etag' | 'lastModified' | 'owner'>;

export interface AccessKey {
  accessKeyId: string;
  secretKey: string;
  owner: string;
  displayName: string;
}

export type MetadataErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'BucketNotEmpty'
  | 'BucketAlreadyExists'
  | 'BucketAlreadyOwnedByYou'
  | 'PreconditionFailed';

/** A refusal the caller can act on; its code is the S3 error code it maps to. */
export class MetadataError extends Error {
  constructor(readonly code: MetadataErrorCode) {
    super(code);
    this.name = 'MetadataError';
  }
}
