import type { ClusterStore } from './cluster-store';

/**
 * The seam between the gateway and the metadata database. The gateway imports only this
 * interface; `SqlMetadataStore` implements it on any PostgreSQL-wire database.
 */
export interface MetadataStore {
  createBucket(bucket: NewBucket): Promise<void>;
  getBucket(name: string): Promise<Bucket | undefined>;
  /** Changes a bucket's settings; a field set to null is removed. Throws NoSuchBucket. */
  updateBucket(name: string, patch: BucketPatch): Promise<void>;
  /** Throws NoSuchBucket, or BucketNotEmpty while any object version, delete marker or
   * multipart upload remains. */
  deleteBucket(name: string): Promise<void>;
  /** Buckets of one owner, or of everyone when owner is undefined. */
  /** Buckets by name (of `owner`, or everyone's), narrowed and paged by `page`. */
  listBuckets(owner?: string, page?: BucketPageQuery): Promise<Bucket[]>;

  /**
   * One version of an object, delete markers included: the current one without `versionId`,
   * else the one with that S3 version id ('null' for the null version). Throws NoSuchBucket,
   * NoSuchKey (no current version), or NoSuchVersion. The caller decides what a delete marker
   * means for its operation.
   */
  getObject(bucket: string, key: string, versionId?: string): Promise<ObjectVersion>;
  /** The chunks of a version that overlap [start, end] (inclusive byte offsets), in order.
   * `id` is the version's internal id (`ObjectVersion.id`). */
  getChunks(id: string, start: number, end: number): Promise<ChunkRef[]>;
  /**
   * Commits a new current version in one transaction, after its chunks are durable, as the
   * bucket's versioning state says: unversioned and Suspended buckets replace the null
   * version, Enabled buckets keep the previous current version as a noncurrent one. The
   * condition is checked inside that transaction, so of concurrent create-only writers
   * exactly one wins; the others get PreconditionFailed. With `chunks: { copyOf }` the new
   * version shares the chunks of an existing version (CopyObject): NoSuchKey if that version
   * is gone by the time of the commit.
   */
  putObject(object: NewObject, condition?: WriteCondition): Promise<WriteResult>;
  /**
   * S3 DELETE: without a version id, removes the current version of an unversioned bucket,
   * or adds a delete marker (Enabled: a new version; Suspended: the null version). With one,
   * removes that version for good, and the newest remaining version becomes current.
   * Deleting what does not exist succeeds (S3 DELETE is idempotent). NoSuchBucket if no
   * bucket; NoSuchVersion is never thrown (S3 answers 204 for an unknown version too), but a
   * malformed version id is the caller's to reject.
   */
  deleteObject(bucket: string, key: string, versionId?: string, options?: DeleteOptions): Promise<DeleteResult>;
  /** DeleteObjects: each target deleted as deleteObject would, all in one transaction;
   * results in the targets' order. A version under object lock is not removed: its result
   * says `refused`, and the other targets are deleted all the same. */
  deleteObjects(bucket: string, targets: DeleteTarget[]): Promise<DeleteResult[]>;
  /** Replaces the tag set of one version (the current one without versionId); returns its
   * S3 version id. Throws NoSuchKey/NoSuchVersion, and MethodNotAllowed for a delete marker. */
  putObjectTags(bucket: string, key: string, versionId: string | undefined, tags: Tags): Promise<string>;
  /**
   * Sets (or, with null, removes) the retention of one version, the current one without
   * versionId; returns its S3 version id. Under an unexpired retention, by the database's
   * clock: COMPLIANCE may only be kept or lengthened; GOVERNANCE may be lengthened, and
   * shortened, removed or made COMPLIANCE only with `bypassGovernance`. Any other change is
   * AccessDenied. NoSuchKey/NoSuchVersion, MethodNotAllowed for a delete marker.
   */
  putObjectRetention(bucket: string, key: string, versionId: string | undefined, retention: Retention | null, options?: DeleteOptions): Promise<string>;
  /** Sets a version's legal hold on or off, as putObjectTags sets its tags. */
  putObjectLegalHold(bucket: string, key: string, versionId: string | undefined, on: boolean): Promise<string>;
  /** Current, non-deleted objects in key order (ListObjects, ListObjectsV2). */
  listObjects(query: ListQuery): Promise<ListPage>;
  /** Every version and delete marker, by key, newest first within a key (ListObjectVersions). */
  listVersions(query: VersionQuery): Promise<VersionPage>;

  /** Starts a multipart upload. NoSuchBucket if no bucket. */
  createUpload(upload: NewUpload): Promise<void>;
  /** Throws NoSuchUpload when the upload does not exist (never did, completed or aborted). */
  getUpload(bucket: string, key: string, uploadId: string): Promise<Upload>;
  /** Records a part, replacing any earlier part with its number. NoSuchUpload if the upload
   * is gone, so a part cannot outlive an abort. */
  putPart(part: NewPart): Promise<void>;
  /** Parts with a number above `after`, in order, at most `max` (+1 to tell truncation). */
  listParts(uploadId: string, after: number, max: number): Promise<Part[]>;
  listUploads(query: UploadQuery): Promise<UploadPage>;
  /**
   * Turns an upload into the current version, in one transaction and without copying data:
   * the chosen parts' chunks become the object's, in order; parts not chosen are dropped.
   * `parts` is what the handler validated against listParts; each must still exist with its
   * etag, else InvalidPart (a part replaced meanwhile). NoSuchUpload if the upload is gone.
   */
  completeUpload(upload: { bucket: string; key: string; uploadId: string }, parts: { partNumber: number; etag: string }[], object: CompletedObject, condition?: WriteCondition): Promise<WriteResult>;
  /** The parts a completed multipart object was made of, numbered above `after`, in order,
   * at most `max` (GET ?partNumber, GetObjectAttributes). Empty for a single-PUT object. */
  getObjectParts(id: string, after: number, max: number): Promise<ObjectPart[]>;
  /** The version a completed upload became (its id is the upload id), current or not; undefined
   * when there is none (never completed, or since deleted). */
  completedVersion(bucket: string, key: string, uploadId: string): Promise<ObjectVersion | undefined>;
  /** Drops an upload and its parts. NoSuchUpload if it does not exist. */
  abortUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  /** Uploads started before `before`, oldest first, at most `limit` (for expiry). */
  staleUploads(before: Date, limit: number): Promise<{ bucket: string; key: string; uploadId: string }[]>;

  /** Users, their access keys and named policies (metadata/sql-iam.ts). */
  readonly iam: IamStore;
  /** The pages the lifecycle runner reads (metadata/sql-lifecycle.ts). */
  readonly lifecycle: LifecycleStore;
  /** Object count and logical bytes (every version, delete markers excluded) of one bucket;
   * physical bytes are the distinct chunks those versions reference, plus inline bodies. A
   * scan: for the admin API and quota upkeep. NoSuchBucket. */
  bucketUsage(bucket: string): Promise<BucketUsage>;
  /** Replaces the ACL of one version (the current one without versionId); returns its S3
   * version id. NoSuchKey/NoSuchVersion, MethodNotAllowed for a delete marker. */
  putObjectAcl(bucket: string, key: string, versionId: string | undefined, acl: Grant[]): Promise<string>;

  /** Of the given chunk addresses, those some object version or part still references (for GC). */
  referencedChunks(addresses: string[]): Promise<string[]>;
  /** Bytes of every object version (what users stored, before dedup and compression). A scan:
   * for a gauge refreshed now and then, not per request. */
  objectBytes(): Promise<number>;
  /** Membership, repair queue and job leases of the storage-node tier. */
  readonly cluster: ClusterStore;
  close(): Promise<void>;
}

export type VersioningStatus = 'Enabled' | 'Suspended';

export type RetentionMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A version's retention: it cannot be removed before `until` (see putObjectRetention). */
export interface Retention {
  mode: RetentionMode;
  until: Date;
}

/** A bucket's object lock configuration; its presence means lock is enabled, for good. */
export interface ObjectLockConfiguration {
  /** What a new version gets when its write names no retention: days or years from its creation. */
  defaultRetention?: { mode: RetentionMode; days?: number; years?: number };
}

/** How a delete (or a retention change) treats object lock. */
export interface DeleteOptions {
  /** The caller may and did ask to override GOVERNANCE retention (never COMPLIANCE, never a legal hold). */
  bypassGovernance?: boolean;
}

/** Tag key → value, in the order given. */
export type Tags = Record<string, string>;

/** A page of ListBuckets: names after `after` that start with `prefix`, in `region`, at most `limit`. */
export interface BucketPageQuery {
  after?: string;
  prefix?: string;
  region?: string;
  limit?: number;
}

/** One CORS rule, as PutBucketCors gives it. */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

/** One lifecycle rule, as PutBucketLifecycleConfiguration gives it, validated (s3/lifecycle.ts). */
export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: LifecycleFilter;
  /** Days after creation, or a date (midnight UTC, ISO 8601); or delete markers left alone. */
  expiration?: { days?: number; date?: string; expiredObjectDeleteMarker?: boolean };
  noncurrentVersionExpiration?: { noncurrentDays: number; newerNoncurrentVersions?: number };
  abortIncompleteMultipartUploadDays?: number;
}

/** The objects a rule applies to: all of these conditions hold. */
export interface LifecycleFilter {
  /** How the document said it, to answer it back the same way: a Rule-level <Prefix>
   * (the older form), a <Filter> with one condition, or a <Filter><And>. */
  form: 'prefix' | 'filter' | 'and';
  prefix?: string;
  tags: [string, string][];
  objectSizeGreaterThan?: number;
  objectSizeLessThan?: number;
}

/** With `objectLock`, the bucket is created with lock enabled and versioning Enabled. */
export type NewBucket = Pick<Bucket, 'name' | 'owner' | 'region' | 'acl' | 'ownership' | 'objectLock'>;

export interface BucketPatch {
  versioning?: VersioningStatus;
  cors?: CorsRule[] | null;
  lifecycle?: LifecycleRule[] | null;
  tags?: Tags | null;
  /** The bucket policy, as the JSON text PutBucketPolicy was given (GetBucketPolicy returns it). */
  policy?: string | null;
  acl?: Grant[] | null;
  ownership?: ObjectOwnership | null;
  publicAccessBlock?: PublicAccessBlock | null;
  /** Hard limit on the bucket's logical bytes; null removes it. */
  quotaBytes?: number | null;
  /** Enables object lock or replaces its configuration; never removed. InvalidBucketState
   * unless versioning is (or becomes, in this patch) Enabled, and versioning cannot leave
   * Enabled on a bucket with object lock. */
  objectLock?: ObjectLockConfiguration;
}

/** ACL permissions, as S3 names them. */
export type AclPermission = 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP';
export type Grantee = { type: 'CanonicalUser'; id: string } | { type: 'Group'; uri: string };
export interface Grant {
  grantee: Grantee;
  permission: AclPermission;
}
export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';
export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

export interface BucketUsage {
  objects: number;
  logicalBytes: number;
  physicalBytes: number;
}

export interface Bucket {
  name: string;
  owner: string;
  region: string;
  createdAt: Date;
  /** Absent while versioning has never been enabled. */
  versioning?: VersioningStatus;
  cors?: CorsRule[];
  lifecycle?: LifecycleRule[];
  tags?: Tags;
  policy?: string;
  /** Absent: the owner alone, with FULL_CONTROL (S3's `private`). */
  acl?: Grant[];
  /** Absent: ObjectWriter (the writer owns what it writes, ACLs apply). */
  ownership?: ObjectOwnership;
  publicAccessBlock?: PublicAccessBlock;
  quotaBytes?: number;
  /** Absent: object lock is not enabled. */
  objectLock?: ObjectLockConfiguration;
}

/** Content-Type, Content-Encoding, Cache-Control, …: stored as sent, returned as stored. */
export type SystemHeaders = Record<string, string>;

export interface ObjectVersion {
  bucket: string;
  key: string;
  /** Internal id of this version (a UUID); owner of its chunk references. */
  id: string;
  /** S3's version id: 'null' for the null version, else the internal id. */
  versionId: string;
  isLatest: boolean;
  /** A delete marker has no body: size 0, no chunks. */
  deleteMarker: boolean;
  size: number;
  /** Quoted, as S3 returns it. */
  etag: string;
  lastModified: Date;
  owner: string;
  headers: SystemHeaders;
  userMetadata: Record<string, string>;
  /** Verified checksums by algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), base64. */
  checksums: Record<string, string>;
  /** How the checksums describe a multipart object; absent for a single PUT (FULL_OBJECT). */
  checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
  tags: Tags;
  /** Part count of an object made by CompleteMultipartUpload. */
  partCount?: number;
  /** Absent: the owner alone, with FULL_CONTROL. */
  acl?: Grant[];
  /** The whole body, when small enough to live in the row. */
  inline?: Uint8Array;
  /** Object lock: absent when never set (an expired retention is still reported). */
  retention?: Retention;
  /** Absent when never set; false once set OFF. */
  legalHold?: boolean;
}

/** What a write supplies; the store assigns the S3 version id from the bucket's versioning. */
export type NewObject = Omit<ObjectVersion, 'lastModified' | 'versionId' | 'isLatest' | 'deleteMarker' | 'partCount'> & {
  chunks: ChunkRef[] | { copyOf: string };
};

/** An object being completed from an upload: its chunks and size come from the parts; an
 * undefined `acl` takes the one given at CreateMultipartUpload. A write that names no
 * retention in a bucket with a default retention gets that (putObject too). */
export type CompletedObject = Omit<NewObject, 'chunks' | 'size' | 'inline'>;

export interface WriteResult {
  /** S3 version id of the new version ('null' unless versioning is Enabled). */
  versionId: string;
}

/** One key (or version of it) to delete. */
export interface DeleteTarget {
  key: string;
  versionId?: string;
  /** Only while the key's current version is still this one (internal id), else nothing is
   * done (`unchanged`): lifecycle never expires a version written after it looked. */
  ifCurrent?: string;
  /** With versionId: only while that version is not the current one (lifecycle's noncurrent
   * expiry, which must not take a version promoted meanwhile), else `unchanged`. */
  noncurrent?: true;
  /** The caller may and did ask to override this version's GOVERNANCE retention. */
  bypassGovernance?: boolean;
}

export interface DeleteResult {
  /** The version removed or the delete marker created; absent on an unversioned bucket. */
  versionId?: string;
  /** True when a delete marker was created, or the version removed was one. */
  deleteMarker: boolean;
  /** Nothing was done: `ifCurrent` no longer held. */
  unchanged?: true;
  /** Nothing was done: the version is under object lock (retention or legal hold). */
  refused?: 'ObjectLocked';
}

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

export type ObjectSummary = Pick<ObjectVersion, 'key' | 'size' | 'etag' | 'lastModified' | 'owner'> & {
  checksumAlgorithms: string[];
  checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
};

export interface VersionQuery {
  bucket: string;
  prefix: string;
  delimiter: string;
  /** Resume after this key (all its versions), or, with versionIdMarker, after that version of it. */
  keyMarker: string;
  versionIdMarker: string;
  maxKeys: number;
}

export type VersionSummary = ObjectSummary & Pick<ObjectVersion, 'versionId' | 'isLatest' | 'deleteMarker'>;

export interface VersionPage {
  versions: VersionSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Where the next page starts (S3's NextKeyMarker / NextVersionIdMarker). */
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

export interface NewUpload {
  bucket: string;
  key: string;
  uploadId: string;
  owner: string;
  headers: SystemHeaders;
  userMetadata: Record<string, string>;
  tags: Tags;
  /** The algorithm chosen at CreateMultipartUpload, if any, and how it combines. */
  checksumAlgorithm?: string;
  checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
  /** The ACL the completed object gets (canned or grant headers at CreateMultipartUpload). */
  acl?: Grant[];
  /** The object lock the completed object gets. */
  retention?: Retention;
  legalHold?: boolean;
}

export type Upload = NewUpload & { initiated: Date };

export interface NewPart {
  uploadId: string;
  partNumber: number;
  /** Internal id owning the part's chunk references. */
  id: string;
  size: number;
  /** Quoted MD5 of the part. */
  etag: string;
  checksums: Record<string, string>;
  chunks: ChunkRef[];
}

export type Part = Omit<NewPart, 'chunks' | 'uploadId'> & { lastModified: Date };

/** A part of a completed object: where it lies in the object. */
export type ObjectPart = Pick<Part, 'partNumber' | 'size' | 'etag' | 'checksums'> & { pos: number };

export interface UploadQuery {
  bucket: string;
  prefix: string;
  delimiter: string;
  keyMarker: string;
  uploadIdMarker: string;
  maxUploads: number;
}

export interface UploadPage {
  uploads: Upload[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/**
 * What lifecycle rules are evaluated on, read in pages by key so a pass reads each row once
 * and holds one page at a time, whatever the bucket's size. Keys are limited to those under
 * `prefix`.
 */
export interface LifecycleStore {
  /** Buckets that have lifecycle rules, by name after `after`, at most `limit`. */
  buckets(after: string, limit: number): Promise<Pick<Bucket, 'name' | 'versioning' | 'lifecycle'>[]>;
  /** Current versions (delete markers included), in key order after `after`. */
  currentVersions(bucket: string, prefix: string, after: string | undefined, limit: number): Promise<LifecycleVersion[]>;
  /** Noncurrent versions, keys in descending order and, within a key, newest first, from
   * the one before `before` on. */
  noncurrentVersions(bucket: string, prefix: string, before: LifecycleCursor | undefined, limit: number): Promise<LifecycleVersion[]>;
  /** Unfinished multipart uploads, by key then upload id, after the cursor. */
  uploads(bucket: string, prefix: string, after: { key: string; uploadId: string } | undefined, limit: number): Promise<{ key: string; uploadId: string; initiated: Date }[]>;
}

/** What a rule needs of a version. */
export type LifecycleVersion = Pick<ObjectVersion, 'key' | 'id' | 'versionId' | 'deleteMarker' | 'size' | 'lastModified' | 'tags'> & {
  /** Current versions: whether older versions exist (a delete marker without is "expired"). */
  hasNoncurrent?: boolean;
  /** Noncurrent versions: their place in the listing, and when the key's current version was
   * written (when the newest noncurrent one became noncurrent). */
  cursor?: LifecycleCursor;
  currentModified?: Date;
};

export interface LifecycleCursor {
  key: string;
  seq: number;
}

/**
 * Users, keys and policies. Every rfs user is an S3 account of its own: it owns the buckets
 * it creates and is named in ACLs by its canonical id. Secrets are stored sealed
 * (gateway/iam/secret-box.ts): the store never sees a plaintext secret.
 */
export interface IamStore {
  /** IamError EntityAlreadyExists when the name or id is taken. */
  createUser(user: NewUser): Promise<void>;
  getUser(name: string): Promise<User | undefined>;
  /** By canonical id (S3's Owner/ID). */
  getUserById(id: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  /** NoSuchEntity when there is no such user. */
  updateUser(name: string, patch: UserPatch): Promise<void>;
  /** Removes the user and its keys. NoSuchEntity; DeleteConflict while it owns a bucket. */
  deleteUser(name: string): Promise<void>;

  /** NoSuchEntity when the key's user does not exist; EntityAlreadyExists for a taken id. */
  createKey(key: StoredKey): Promise<void>;
  /** Rows from before users existed (no user) are never returned: they never authenticate. */
  getKey(accessKeyId: string): Promise<StoredKey | undefined>;
  /** Oldest first; empty for an unknown user. */
  listKeys(userName: string): Promise<StoredKey[]>;
  /** NoSuchEntity when there is no such key. */
  setKeyStatus(accessKeyId: string, status: KeyStatus): Promise<void>;
  /** Deleting an unknown key succeeds. */
  deleteKey(accessKeyId: string): Promise<void>;

  /** Creates or replaces a named policy (the text is validated by the caller). */
  putPolicy(name: string, document: string): Promise<void>;
  getPolicy(name: string): Promise<NamedPolicy | undefined>;
  listPolicies(): Promise<NamedPolicy[]>;
  /** NoSuchEntity; DeleteConflict while a user has it attached. */
  deletePolicy(name: string): Promise<void>;

  /** A small sealed value that proves which master key this database was written with:
   * the first gateway writes it, later ones check theirs opens it. Returns what is stored
   * after the call (the given value if none was). */
  keyCheck(sealed: string): Promise<string>;
}

export interface NewUser {
  name: string;
  /** Canonical user id, 64 hex digits. */
  id: string;
  /** IAM's unique id (AIDA…), what aws:userid holds. */
  userId: string;
  /** 'oidc': made on first sign-in through STS; its name is `<issuer-host>/<sub>`-like. */
  source: 'local' | 'oidc';
  /** Names of the named policies attached. */
  policies: string[];
}

export interface User extends NewUser {
  disabled: boolean;
  /** Sessions (STS credentials) issued before this instant are refused: revocation. */
  sessionsValidAfter: Date;
  createdAt: Date;
}

export interface UserPatch {
  disabled?: boolean;
  sessionsValidAfter?: Date;
  policies?: string[];
}

export type KeyStatus = 'Active' | 'Inactive';

export interface StoredKey {
  accessKeyId: string;
  userName: string;
  /** The secret, sealed with the master key (bound to the access key id). */
  sealedSecret: string;
  status: KeyStatus;
  createdAt: Date;
}

export interface NamedPolicy {
  name: string;
  document: string;
  updatedAt: Date;
}

export type IamErrorCode = 'EntityAlreadyExists' | 'NoSuchEntity' | 'DeleteConflict';

/** A refusal of an IAM change, with IAM's error code. */
export class IamError extends Error {
  constructor(readonly code: IamErrorCode, message: string) {
    super(message);
    this.name = 'IamError';
  }
}

export type MetadataErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'BucketNotEmpty'
  | 'BucketAlreadyExists'
  | 'BucketAlreadyOwnedByYou'
  | 'PreconditionFailed'
  | 'NoSuchVersion'
  | 'NoSuchUpload'
  | 'InvalidPart'
  | 'MethodNotAllowed'
  | 'InvalidBucketState'
  | 'AccessDenied';

/** A refusal the caller can act on; its code is the S3 error code it maps to. */
export class MetadataError extends Error {
  constructor(readonly code: MetadataErrorCode) {
    super(code);
    this.name = 'MetadataError';
  }
}
