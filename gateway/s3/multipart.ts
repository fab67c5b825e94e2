import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { BucketCall, S3Call } from '../services';
import { newObjectAcl } from './ownership';
import { writerOf } from '../iam/authorize';
import type { Upload } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { single } from '../protocol/headers';
import { isoDate, xmlDocument } from '../protocol/xml';
import { CHECKSUM_ALGORITHMS, checksumHeaderName, declaredChecksums, type ChecksumAlgorithm } from '../body/checksums';
import { isCombinable } from '../body/checksum-combine';
import { checkKey } from './addressing';
import { storedHeaders, userMetadata } from './object-headers';
import { parseTaggingHeader } from './tagging';
import { copySourceVersionHeader, parseCopySourceRange, readCopySource } from './copy-source';
import { writeLock } from './object-lock';

/** How an upload's part checksums make the object's (x-amz-checksum-type). */
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

const MAX_PART_NUMBER = 10_000;
const MAX_PART_BYTES = 5 * 1024 ** 3;
const MAX_LISTED = 1000;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html */
export async function createMultipartUpload(call: BucketCall): Promise<void> {
  const { services, target, caller, request, reply } = call;
  const { bucket, key } = target;
  checkKey(key);
  const headers = request.headers;
  const meta = userMetadata(headers);
  const tagging = single(headers['x-amz-tagging']);
  const tags = tagging === undefined ? {} : parseTaggingHeader(tagging);
  const checksum = uploadChecksum(headers);
  // Applied to the object the upload becomes.
  const lock = await writeLock(call);
  const { owner, acl } = await newObjectAcl(call, call.bucket, writerOf(caller));
  const uploadId = randomUUID();
  await services.meta.createUpload({
    bucket, key, uploadId, owner, acl, headers: storedHeaders(headers), userMetadata: meta, tags,
    checksumAlgorithm: checksum.algorithm, checksumType: checksum.type, ...lock,
  });
  if (checksum.algorithm && checksum.type) reply.header('x-amz-checksum-algorithm', checksum.algorithm).header('x-amz-checksum-type', checksum.type);
  reply.type('application/xml').send(xmlDocument('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
 * The body is chunked like any PUT's, never inline: Complete concatenates chunk lists. */
export async function uploadPart(call: BucketCall): Promise<void> {
  const { services, request, reply, payload } = call;
  const headers = request.headers;
  const partNumber = partNumberOf(call);
  const upload = await openUpload(call);
  const declared = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length'] ?? 0);
  if (declared > MAX_PART_BYTES) throw new S3Error('EntityTooLarge', undefined, { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_PART_BYTES) });
  checkPartChecksum(upload, headers);
  await services.quota.check(call.bucket, declared);
  const { etag, checksums } = await services.objects.putPart(upload, partNumber, { source: request.raw, headers, payload });
  reply.header('etag', etag).headers(checksumHeaders(checksums)).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 * The source range is read and chunked again: content-defined chunking cuts content already
 * stored into the chunks it is stored as, so the copy mostly writes nothing new. */
export async function uploadPartCopy(call: BucketCall): Promise<void> {
  const { services, request, reply } = call;
  const partNumber = partNumberOf(call);
  const upload = await openUpload(call);
  const source = await readCopySource(call);
  const { size } = source.object;
  const range = parseCopySourceRange(request.headers['x-amz-copy-source-range'], size) ?? { start: 0, end: size - 1 };
  if (range.end - range.start + 1 > MAX_PART_BYTES) {
    throw new S3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_BYTES}`);
  }
  await services.quota.check(call.bucket, range.end - range.start + 1);
  const { etag, checksums } = await services.objects.copyPart(upload, partNumber, source.object, range);
  reply
    .headers(copySourceVersionHeader(source))
    .type('application/xml')
    .send(xmlDocument('CopyPartResult', { ETag: etag, LastModified: isoDate(new Date()), ...checksumElements(checksums) }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 * The parts' chunks become unreferenced; GC collects them. */
export async function abortMultipartUpload(call: S3Call): Promise<void> {
  const { services, target, reply } = call;
  checkKey(target.key);
  const uploadId = uploadIdOf(call);
  await services.meta.abortUpload(target.bucket, target.key, uploadId);
  reply.code(204).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html */
export async function listParts(call: S3Call): Promise<void> {
  const { services, target, reply } = call;
  const q = target.query;
  const marker = integerParam(q, 'part-number-marker', 0);
  const maxParts = Math.min(integerParam(q, 'max-parts', MAX_LISTED), MAX_LISTED);
  const encode = encoder(q);
  const upload = await openUpload(call);
  const found = await services.meta.listParts(upload.uploadId, marker, maxParts + 1);
  const parts = found.slice(0, maxParts);
  const isTruncated = found.length > maxParts;
  reply.type('application/xml').send(
    xmlDocument('ListPartsResult', {
      Bucket: target.bucket,
      Key: encode(target.key),
      UploadId: upload.uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: parts.length > 0 ? parts[parts.length - 1].partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: isTruncated,
      Part: parts.map((p) => ({
        ...checksumElements(p.checksums),
        ETag: p.etag,
        LastModified: isoDate(p.lastModified),
        PartNumber: p.partNumber,
        Size: p.size,
      })),
      Initiator: person(call, upload.owner),
      Owner: person(call, upload.owner),
      StorageClass: 'STANDARD',
      ...(upload.checksumAlgorithm ? { ChecksumAlgorithm: upload.checksumAlgorithm, ChecksumType: upload.checksumType } : {}),
      ...(q.has('encoding-type') ? { EncodingType: 'url' } : {}),
    }),
  );
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html */
export async function listMultipartUploads(call: S3Call): Promise<void> {
  const { services, target, reply } = call;
  const q = target.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  // S3 ignores upload-id-marker without key-marker.
  const uploadIdMarker = keyMarker ? (q.get('upload-id-marker') ?? '') : '';
  if (uploadIdMarker && !UUID.test(uploadIdMarker)) {
    throw new S3Error('InvalidArgument', 'Invalid uploadId marker', { ArgumentName: 'upload-id-marker', ArgumentValue: uploadIdMarker });
  }
  const maxUploads = Math.min(integerParam(q, 'max-uploads', MAX_LISTED), MAX_LISTED);
  const encode = encoder(q);
  const page = await services.meta.listUploads({ bucket: target.bucket, prefix, delimiter, keyMarker, uploadIdMarker, maxUploads });
  reply.type('application/xml').send(
    xmlDocument('ListMultipartUploadsResult', {
      Bucket: target.bucket,
      KeyMarker: encode(keyMarker),
      UploadIdMarker: uploadIdMarker,
      ...(page.isTruncated && page.nextKeyMarker !== undefined ? { NextKeyMarker: encode(page.nextKeyMarker) } : {}),
      Prefix: encode(prefix),
      ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
      ...(page.isTruncated && page.nextUploadIdMarker !== undefined ? { NextUploadIdMarker: page.nextUploadIdMarker } : {}),
      MaxUploads: maxUploads,
      IsTruncated: page.isTruncated,
      Upload: page.uploads.map((u) => ({
        ...(u.checksumAlgorithm ? { ChecksumAlgorithm: u.checksumAlgorithm, ChecksumType: u.checksumType } : {}),
        Initiated: isoDate(u.initiated),
        Initiator: person(call, u.owner),
        Key: encode(u.key),
        Owner: person(call, u.owner),
        StorageClass: 'STANDARD',
        UploadId: u.uploadId,
      })),
      CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
      ...(q.has('encoding-type') ? { EncodingType: 'url' } : {}),
    }),
  );
}

// ---- uploads and parts ----

/** The upload the request names, in a bucket the caller owns; NoSuchUpload if it is gone. */
export async function openUpload(call: S3Call): Promise<Upload> {
  const { services, target } = call;
  checkKey(target.key);
  const uploadId = uploadIdOf(call);
  return services.meta.getUpload(target.bucket, target.key, uploadId);
}

/** rfs issues UUIDs; anything else names no upload (and must not reach the UUID column). */
function uploadIdOf({ target }: S3Call): string {
  const uploadId = target.query.get('uploadId') ?? '';
  if (!UUID.test(uploadId)) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
  return uploadId;
}

function partNumberOf({ target }: S3Call): number {
  const raw = target.query.get('partNumber') ?? '';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_PART_NUMBER) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      ArgumentName: 'partNumber', ArgumentValue: raw,
    });
  }
  return n;
}

// ---- checksums ----

/** x-amz-checksum-algorithm and x-amz-checksum-type of CreateMultipartUpload, with S3's
 * defaults (COMPOSITE, except CRC64NVME, which is FULL_OBJECT only) and combinations. */
function uploadChecksum(headers: IncomingHttpHeaders): { algorithm?: ChecksumAlgorithm; type?: ChecksumType } {
  // declaredChecksums parses the algorithm header with PutObject's answers.
  const algorithm = declaredChecksums({ 'x-amz-checksum-algorithm': headers['x-amz-checksum-algorithm'] }).algorithm;
  const rawType = single(headers['x-amz-checksum-type']);
  if (rawType === undefined) return algorithm ? { algorithm, type: algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE' } : {};
  const type = checksumTypeOf(rawType);
  if (!algorithm) throw new S3Error('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
  if (type === 'FULL_OBJECT' ? !isCombinable(algorithm) : algorithm === 'CRC64NVME') {
    throw new S3Error('InvalidRequest', `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
  }
  return { algorithm, type };
}

/** x-amz-checksum-type, as CreateMultipartUpload and Complete take it. */
export function checksumTypeOf(raw: string): ChecksumType {
  if (raw !== 'COMPOSITE' && raw !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  return raw;
}

/** A part's checksum must be of the upload's algorithm; a COMPOSITE upload needs one on every
 * part (its object checksum is made of them). A FULL_OBJECT part without one is computed. */
function checkPartChecksum(upload: Upload, headers: IncomingHttpHeaders): void {
  const expected = upload.checksumAlgorithm;
  if (!expected) return;
  const declared = declaredChecksums(headers);
  const sent = (Object.keys(declared.checksums) as ChecksumAlgorithm[])[0] ?? declared.trailer;
  if ((sent && sent !== expected) || (!sent && upload.checksumType === 'COMPOSITE')) {
    throw new S3Error(
      'InvalidRequest',
      `Checksum Type mismatch occurred, expected checksum Type: ${expected.toLowerCase()}, actual checksum Type: ${sent?.toLowerCase() ?? 'null'}`,
    );
  }
}

function checksumHeaders(checksums: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksums)) out[checksumHeaderName(alg as ChecksumAlgorithm)] = value;
  return out;
}

/** ChecksumCRC32, ChecksumSHA256, …: how S3's XML names a checksum. */
export function checksumElements(checksums: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const alg of CHECKSUM_ALGORITHMS) if (checksums[alg] !== undefined) out[`Checksum${alg}`] = checksums[alg];
  return out;
}

// ---- listing ----

function integerParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2 ** 31 - 1) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: raw });
  }
  return Number(raw);
}

function encoder(q: URLSearchParams): (s: string) => string {
  const type = q.get('encoding-type');
  if (type !== null && type !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
  return type === 'url' ? encodeURIComponent : (s) => s;
}

function person({ caller }: S3Call, owner: string): { ID: string; DisplayName: string } {
  return { ID: owner, DisplayName: owner === caller?.owner ? caller.displayName : owner };
}
