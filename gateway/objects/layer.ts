import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { PayloadAuth } from '../auth';
import type { Bucket, DeleteOptions, DeleteResult, DeleteTarget, NewObject, ObjectVersion, Part, Upload, WriteCondition, WriteResult } from '../../metadata/store';

/**
 * The object layer: what S3 handlers call to store, copy, assemble, delete and read objects.
 * Handlers speak S3 (headers, XML, S3's rules and errors) and make one call here per
 * operation; the layer speaks objects, chunks, filters and metadata. It owns chunking, the
 * rule that a version's row commits only after every chunk of it is durable, and the key
 * filter (a key enters it before its row commits; it is rebuilt from the database).
 *
 * Which calls go through it: every operation that stores or reads object bytes, or adds or
 * removes object versions, since those are what the commit order and the key filter guard.
 * Calls that read or change metadata only (buckets, tags, ACLs, listings, version and part
 * lookups, multipart bookkeeping: create, list, abort) go from handlers to `services.meta`
 * directly; passing them through here would add a forwarding method each and guard nothing.
 */
export interface ObjectLayer {
  /** PutObject and POST Object: receives the body into chunks, then commits the version.
   * With If-None-Match: *, a key that plainly exists fails before any byte is read. */
  put(object: ObjectSpec, body: RequestBody | UnsizedBody, condition?: WriteCondition): Promise<PutResult>;
  /** CopyObject: a new version sharing `from`'s chunks (no byte read or written), with its
   * ETag and checksums. */
  copy(object: ObjectSpec, from: ObjectVersion, condition?: WriteCondition): Promise<CopyResult>;
  /** UploadPart: the body as chunks, never inline (Complete concatenates chunk lists), with
   * the upload's checksum algorithm computed whether or not the client sent it. */
  putPart(upload: Upload, partNumber: number, body: RequestBody): Promise<StoredPart>;
  /** UploadPartCopy: bytes [start, end] of `from`, chunked again (content already stored
   * maps to the chunks it is stored as, so little is written). */
  copyPart(upload: Upload, partNumber: number, from: ObjectVersion, range: { start: number; end: number }): Promise<StoredPart>;
  /** CompleteMultipartUpload: the parts' chunks become the object's, in one transaction,
   * with the ETag and checksums the handler worked out from them. */
  complete(upload: Upload, parts: Pick<Part, 'partNumber' | 'etag'>[], object: { etag: string; checksums: Record<string, string> }, condition?: WriteCondition): Promise<WriteResult>;
  /** DeleteObject: removes a version or adds a delete marker (which the key filter learns);
   * a version under object lock is `refused`. */
  delete(bucket: Bucket, key: string, versionId?: string, options?: DeleteOptions): Promise<DeleteResult>;
  /** DeleteObjects: each target as `delete` would, in one transaction; results in order. */
  deleteMany(bucket: Bucket, targets: DeleteTarget[]): Promise<DeleteResult[]>;
  /** False only when the key certainly has no current version: the filter's answer, no
   * database read. True means "ask the database". */
  mayExist(bucket: string, key: string): Promise<boolean>;
  /** Bytes [start, end] of a version as a stream pulled by the socket, with bounded read-ahead. */
  read(object: ObjectVersion, start: number, end: number): Readable;
}

/** The object a write makes, as the request describes it; the layer adds its data, size,
 * ETag and checksums. */
export type ObjectSpec = Pick<NewObject, 'bucket' | 'key' | 'owner' | 'acl' | 'headers' | 'userMetadata' | 'tags' | 'retention' | 'legalHold'>;

/** A request body of declared length (Content-Length or x-amz-decoded-content-length),
 * decoded and checked against everything its headers and payload mode declare. */
export interface RequestBody {
  source: AsyncIterable<Buffer>;
  headers: IncomingHttpHeaders;
  payload: PayloadAuth;
  /** Set: a body sent with Transfer-Encoding: chunked and no length is taken, up to this many
   * bytes (PutObject). Unset: a length is required. */
  maxUnsized?: number;
}

/** A body whose length shows only at its end (a form's file); `checksums` holds the
 * x-amz-checksum-* values it must match. */
export interface UnsizedBody {
  source: AsyncIterable<Buffer>;
  checksums: IncomingHttpHeaders;
}

/** What a reply to a stored part needs: its quoted ETag and verified checksums by algorithm. */
export interface StoredPart {
  etag: string;
  checksums: Record<string, string>;
}

/** What a reply to a stored object needs: as a part, plus the S3 version id it got. */
export interface PutResult extends StoredPart {
  versionId: string;
  /** Bytes stored (known only at the end of an unsized body). */
  size: number;
}

/** What a reply to CopyObject needs: the new version's id and its time. */
export interface CopyResult {
  versionId: string;
  lastModified: Date;
}
