import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { Bucket, DeleteOptions, DeleteResult, DeleteTarget, MetadataStore, NewObject, ObjectVersion, Part, Upload, WriteCondition, WriteResult } from '../../metadata/store';
import type { ChunkStore } from '../../storage-node/chunk-store';
import type { ChecksumAlgorithm } from '../body/checksums';
import type { HashPool } from '../body/hash-pool';
import type { Config } from '../config';
import { S3Error } from '../protocol/errors';
import { KeyFilter, type RebuildableBloom } from './key-filter';
import type { CopyResult, ObjectLayer, ObjectSpec, PutResult, RequestBody, StoredPart, UnsizedBody } from './layer';
import { readObjectRange } from './reader';
import { BodyReceiver, type ReceiveConfig, type ReceivedBody } from './receive';
import { Slots } from './slots';

/** What the layer is built from: the stores behind their interfaces, and its settings. */
export interface StoreObjectLayerOptions {
  meta: MetadataStore;
  chunks: ChunkStore;
  /** The Bloom filter behind the key filter: in process, or shared through Redis. */
  filter: RebuildableBloom;
  config: ReceiveConfig & Pick<Config, 'readAhead' | 'writeSlots'>;
  /** Worker threads for the digests of large bodies. */
  hashes?: HashPool;
  log?: FastifyBaseLogger;
}

/**
 * The object layer over the metadata store, the chunk store and the key filter (see
 * ObjectLayer). app.ts builds one per server, so its write slots bound chunk writes in flight
 * across every upload, and starts the filter's upkeep.
 */
export class StoreObjectLayer implements ObjectLayer {
  private readonly meta: MetadataStore;
  private readonly chunks: ChunkStore;
  private readonly filter: KeyFilter;
  private readonly receiver: BodyReceiver;
  private readonly readAhead: number;

  constructor(options: StoreObjectLayerOptions) {
    const { meta, chunks, config } = options;
    this.meta = meta;
    this.chunks = chunks;
    this.filter = new KeyFilter(options.filter, meta, options.log);
    this.receiver = new BodyReceiver(chunks, config, new Slots(config.writeSlots), options.hashes);
    this.readAhead = config.readAhead;
  }

  /** Rebuilds the key filter from the database now and every `intervalMs`, so keys deleted
   * since the last build stop costing a database read. */
  startFilterUpkeep(intervalMs: number): void {
    this.filter.start(intervalMs, true);
  }

  /** Rebuilds the key filter now (a shared filter found empty or untrusted). */
  rebuildFilter(): Promise<number> {
    return this.filter.runOnce();
  }

  /** Stops the filter's upkeep, waiting for a rebuild in progress; before the stores close. */
  stop(): Promise<void> {
    return this.filter.stop();
  }

  async put(object: ObjectSpec, body: RequestBody | UnsizedBody, condition?: WriteCondition): Promise<PutResult> {
    // The authoritative check is the one inside the commit transaction; this one only spares
    // reading a body that cannot be stored.
    if (condition?.ifNoneMatch && (await this.hasObject(object.bucket, object.key))) {
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
    }
    const received =
      'payload' in body
        ? await this.receiver.request(body.source, body.headers, body.payload, { maxUnsized: body.maxUnsized })
        : await this.receiver.unsized(body.source, body.checksums);
    const { etag, checksums } = storedPart(received);
    const { versionId } = await this.commit(
      { ...object, id: randomUUID(), size: received.size, etag, checksums, inline: received.inline, chunks: received.chunks },
      condition,
    );
    return { etag, checksums, versionId, size: received.size };
  }

  async copy(object: ObjectSpec, from: ObjectVersion, condition?: WriteCondition): Promise<CopyResult> {
    const { versionId } = await this.commit(
      {
        ...object, id: randomUUID(), size: from.size, etag: from.etag, checksums: from.checksums, checksumType: from.checksumType,
        inline: from.inline, chunks: { copyOf: from.id },
      },
      condition,
    );
    return { versionId, lastModified: await this.committedAt(object, versionId) };
  }

  async putPart(upload: Upload, partNumber: number, body: RequestBody): Promise<StoredPart> {
    const received = await this.receiver.request(body.source, body.headers, body.payload, { inline: false, compute: uploadAlgorithms(upload) });
    return this.savePart(upload, partNumber, received);
  }

  async copyPart(upload: Upload, partNumber: number, from: ObjectVersion, range: { start: number; end: number }): Promise<StoredPart> {
    const received = await this.receiver.stream(this.read(from, range.start, range.end), uploadAlgorithms(upload));
    return this.savePart(upload, partNumber, received);
  }

  async complete(
    upload: Upload,
    parts: Pick<Part, 'partNumber' | 'etag'>[],
    object: { etag: string; checksums: Record<string, string> },
    condition?: WriteCondition,
  ): Promise<WriteResult> {
    const { bucket, key } = upload;
    await this.filter.add(bucket, key);
    return this.meta.completeUpload(
      { bucket, key, uploadId: upload.uploadId },
      parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      {
        // The version's id is the upload's: a retried Complete finds what the first one made.
        bucket, key, id: upload.uploadId, etag: object.etag, owner: upload.owner, headers: upload.headers, userMetadata: upload.userMetadata,
        tags: upload.tags, checksums: object.checksums, checksumType: upload.checksumType, retention: upload.retention, legalHold: upload.legalHold,
      },
      condition,
    );
  }

  async delete(bucket: Bucket, key: string, versionId?: string, options?: DeleteOptions): Promise<DeleteResult> {
    await this.markerMayFollow(bucket, [{ key, versionId }]);
    return this.meta.deleteObject(bucket.name, key, versionId, options);
  }

  async deleteMany(bucket: Bucket, targets: DeleteTarget[]): Promise<DeleteResult[]> {
    await this.markerMayFollow(bucket, targets);
    return this.meta.deleteObjects(bucket.name, targets);
  }

  mayExist(bucket: string, key: string): Promise<boolean> {
    return this.filter.mightContain(bucket, key);
  }

  read(object: ObjectVersion, start: number, end: number): Readable {
    return readObjectRange(this.meta, this.chunks, object, start, end, this.readAhead);
  }

  /** The key filter learns of the key before the commit makes it readable. */
  private async commit(object: NewObject, condition?: WriteCondition): Promise<WriteResult> {
    await this.filter.add(object.bucket, object.key);
    return this.meta.putObject(object, condition);
  }

  /** A delete without a version id makes a delete marker the key's newest version in a
   * bucket that has versioning, and GET must then reach the store to report it: the filter
   * learns of the key before that commit, like any other. A never-versioned bucket gets no
   * markers, so its deletes (DeleteObjects: up to 1,000) cost no filter writes. */
  private async markerMayFollow(bucket: Bucket, targets: { key: string; versionId?: string }[]): Promise<void> {
    if (!bucket.versioning) return;
    await Promise.all(targets.filter((t) => t.versionId === undefined).map((t) => this.filter.add(bucket.name, t.key)));
  }

  /** Whether the key's current version is an object (not a delete marker). */
  private async hasObject(bucket: string, key: string): Promise<boolean> {
    if (!(await this.filter.mightContain(bucket, key))) return false;
    return this.meta.getObject(bucket, key).then((o) => !o.deleteMarker, () => false);
  }

  /** The new version's time, as HEAD will report it; the commit time is near enough if the
   * version is already gone again. */
  private async committedAt({ bucket, key }: ObjectSpec, versionId: string): Promise<Date> {
    try {
      return (await this.meta.getObject(bucket, key, versionId)).lastModified;
    } catch {
      return new Date();
    }
  }

  private async savePart(upload: Upload, partNumber: number, body: ReceivedBody): Promise<StoredPart> {
    const part = storedPart(body);
    await this.meta.putPart({ uploadId: upload.uploadId, partNumber, id: randomUUID(), size: body.size, ...part, chunks: body.chunks });
    return part;
  }
}

/** A received body's quoted ETag (its MD5) and checksums, as a row stores them. */
function storedPart(body: ReceivedBody): StoredPart {
  return { etag: `"${body.md5Hex}"`, checksums: body.checksums as Record<string, string> };
}

/** The algorithm every part of this upload is checksummed with (computed if not sent). */
function uploadAlgorithms(upload: Upload): ChecksumAlgorithm[] {
  return upload.checksumAlgorithm ? [upload.checksumAlgorithm as ChecksumAlgorithm] : [];
}
