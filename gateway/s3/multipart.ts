import { createHash, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { S3Call, Services } from '../services';
import { objectFilterKey } from '../services';
import { S3Error } from './errors';
import { checkKey } from './addressing';
import { parseEtagList, writeCondition } from './conditions';
import { storedHeaders, userMetadata } from './object-headers';
import { parseTaggingHeader } from './tagging';
import { copySourceVersionHeader, parseCopySourceRange, readCopySource } from './copy-source';
import { readSmallBody } from './small-body';
import { isoDate, parseXml, xmlDocument } from './xml';
import { receiveBody, storeStream, type ReceivedBody } from '../chunks/upload';
import { readObjectRange } from '../chunks/reader';
import { CHECKSUM_ALGORITHMS, checksumHeaderName, declaredChecksums, isBase64Digest, type ChecksumAlgorithm } from '../body/checksums';
import { combineCrcs, compositeChecksum, isCombinable } from '../body/checksum-combine';
import type { Part, Upload } from '../../metadata/store';
import { single } from '../headers';

type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

const MAX_PART_NUMBER = 10_000;
const MAX_PART_BYTES = 5 * 1024 ** 3;
const MAX_LISTED = 1000;
/** A CompleteMultipartUpload body of 10,000 parts, each with a SHA-256, is about 2 MiB. */
const MAX_COMPLETE_BODY_BYTES = 8 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html */
export async function createMultipartUpload({ services, target, caller, request, reply }: S3Call): Promise<void> {
  const { bucket, key } = target;
  checkKey(key);
  const headers = request.headers;
  const meta = userMetadata(headers);
  const tagging = single(headers['x-amz-tagging']);
  const tags = tagging === undefined ? {} : parseTaggingHeader(tagging);
  const checksum = uploadChecksum(headers);
  await services.buckets.require(bucket, caller);
  const uploadId = randomUUID();
  await services.meta.createUpload({
    bucket, key, uploadId, owner: caller.owner, headers: storedHeaders(headers), userMetadata: meta, tags,
    checksumAlgorithm: checksum.algorithm, checksumType: checksum.type,
  });
  if (checksum.algorithm && checksum.type) reply.header('x-amz-checksum-algorithm', checksum.algorithm).header('x-amz-checksum-type', checksum.type);
  reply.type('application/xml').send(xmlDocument('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
 * The body is chunked like any PUT's, never inline: Complete concatenates chunk lists. */
export async function uploadPart(call: S3Call): Promise<void> {
  const { services, request, reply, payload } = call;
  const headers = request.headers;
  const partNumber = partNumberOf(call);
  const upload = await openUpload(call);
  const declared = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length'] ?? 0);
  if (declared > MAX_PART_BYTES) throw new S3Error('EntityTooLarge', undefined, { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_PART_BYTES) });
  checkPartChecksum(upload, headers);
  const body = await receiveBody(request.raw, headers, payload, services.chunks, services.config, services.writeSlots, services.hashes, {
    inline: false, compute: uploadAlgorithms(upload),
  });
  const etag = await savePart(services, upload, partNumber, body);
  reply.header('etag', etag).headers(checksumHeaders(body.checksums as Record<string, string>)).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 * The source range is read and chunked again: content-defined chunking cuts content already
 * stored into the chunks it is stored as, so the copy mostly writes nothing new. */
export async function uploadPartCopy(call: S3Call): Promise<void> {
  const { services, request, reply } = call;
  const partNumber = partNumberOf(call);
  const upload = await openUpload(call);
  const source = await readCopySource(call);
  const { size } = source.object;
  const range = parseCopySourceRange(request.headers['x-amz-copy-source-range'], size) ?? { start: 0, end: size - 1 };
  if (range.end - range.start + 1 > MAX_PART_BYTES) {
    throw new S3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_BYTES}`);
  }
  const bytes = readObjectRange(services.meta, services.chunks, source.object, range.start, range.end, services.config.readAhead);
  const body = await storeStream(bytes, uploadAlgorithms(upload), services.chunks, services.config, services.writeSlots, services.hashes);
  const etag = await savePart(services, upload, partNumber, body);
  reply
    .headers(copySourceVersionHeader(source))
    .type('application/xml')
    .send(xmlDocument('CopyPartResult', { ETag: etag, LastModified: isoDate(new Date()), ...checksumElements(body.checksums as Record<string, string>) }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * Validates the part list against the stored parts, then commits the object from the parts'
 * chunk references in one transaction: no data is read or copied. */
export async function completeMultipartUpload(call: S3Call): Promise<void> {
  const { services, target, request, reply } = call;
  const { bucket, key } = target;
  const upload = await openUpload(call);
  const requested = parseCompleteBody(await readSmallBody(call, { limit: MAX_COMPLETE_BODY_BYTES }));
  const expected = expectedChecksum(upload, request.headers);
  const parts = await matchParts(services, upload, requested);
  const checksums = await objectChecksums(upload, parts, expected);
  checkObjectSize(request.headers, parts);
  const etag = multipartEtag(parts);
  const condition = writeCondition(request.headers);
  await services.objectFilter.add(objectFilterKey(bucket, key));
  const { versionId } = await services.meta.completeUpload(
    { bucket, key, uploadId: upload.uploadId },
    parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
    {
      bucket, key, id: randomUUID(), etag, owner: upload.owner, headers: upload.headers, userMetadata: upload.userMetadata,
      tags: upload.tags, checksums, checksumType: upload.checksumType,
    },
    condition,
  );
  if (versionId !== 'null') reply.header('x-amz-version-id', versionId);
  reply.type('application/xml').send(
    xmlDocument('CompleteMultipartUploadResult', {
      Location: `${request.protocol}://${request.headers.host ?? ''}${target.rawPath}`,
      Bucket: bucket,
      Key: key,
      ETag: etag,
      ...checksumElements(checksums),
      ...(upload.checksumType ? { ChecksumType: upload.checksumType } : {}),
    }),
  );
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 * The parts' chunks become unreferenced; GC collects them. */
export async function abortMultipartUpload(call: S3Call): Promise<void> {
  const { services, target, caller, reply } = call;
  checkKey(target.key);
  const uploadId = uploadIdOf(call);
  await services.buckets.require(target.bucket, caller);
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
  const { services, target, caller, reply } = call;
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
  await services.buckets.require(target.bucket, caller);
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
async function openUpload(call: S3Call): Promise<Upload> {
  const { services, target, caller } = call;
  checkKey(target.key);
  const uploadId = uploadIdOf(call);
  await services.buckets.require(target.bucket, caller);
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

async function savePart(services: Services, upload: Upload, partNumber: number, body: ReceivedBody): Promise<string> {
  const etag = `"${body.md5Hex}"`;
  await services.meta.putPart({
    uploadId: upload.uploadId, partNumber, id: randomUUID(), size: body.size, etag,
    checksums: body.checksums as Record<string, string>, chunks: body.chunks,
  });
  return etag;
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

function checksumTypeOf(raw: string): ChecksumType {
  if (raw !== 'COMPOSITE' && raw !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  return raw;
}

/** The algorithm every part of this upload is checksummed with (computed if not sent). */
function uploadAlgorithms(upload: Upload): ChecksumAlgorithm[] {
  return upload.checksumAlgorithm ? [upload.checksumAlgorithm as ChecksumAlgorithm] : [];
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

/** What Complete's headers claim about the object: its checksum (x-amz-checksum-<algorithm>),
 * checked for form here and for value once computed. Other algorithms' headers are ignored. */
interface ExpectedChecksum {
  value?: string;
  /** The "-N" of a COMPOSITE value, when given. */
  parts?: number;
}

function expectedChecksum(upload: Upload, headers: IncomingHttpHeaders): ExpectedChecksum {
  const algorithm = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  const rawType = single(headers['x-amz-checksum-type']);
  if (rawType !== undefined && algorithm) {
    const type = checksumTypeOf(rawType);
    if (type !== upload.checksumType) {
      throw new S3Error('InvalidRequest', `The upload was created using the ${upload.checksumType} checksum mode. The complete request must use the same checksum mode.`);
    }
  }
  if (!algorithm) return {};
  const name = checksumHeaderName(algorithm);
  const raw = single(headers[name]);
  if (raw === undefined) return {};
  const m = upload.checksumType === 'COMPOSITE' ? /^([^-]*)(?:-(\d+))?$/.exec(raw) : /^([^-]*)()$/.exec(raw);
  if (!m || !isBase64Digest(m[1], algorithm)) throw new S3Error('InvalidRequest', `Value for ${name} header is invalid.`);
  return { value: m[1], parts: m[2] ? Number(m[2]) : undefined };
}

/** The object's checksums: COMPOSITE from the part checksums, FULL_OBJECT by combining the
 * part CRCs; compared with what the client claimed (BadDigest). None without an algorithm. */
async function objectChecksums(upload: Upload, parts: Part[], expected: ExpectedChecksum): Promise<Record<string, string>> {
  const algorithm = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  if (!algorithm) return {};
  const partChecksums = parts.map((p) => p.checksums[algorithm]);
  const missing = parts.findIndex((p) => p.checksums[algorithm] === undefined);
  // Parts carry the upload's checksum from UploadPart on; a part without it is one the store
  // could not have accepted, so say so rather than answer a wrong checksum.
  if (missing >= 0) throw new Error(`part ${parts[missing].partNumber} of upload ${upload.uploadId} has no ${algorithm} checksum`);
  let value: string;
  if (upload.checksumType === 'FULL_OBJECT' && isCombinable(algorithm)) {
    value = combineCrcs(algorithm, parts.map((p) => ({ checksum: p.checksums[algorithm], size: p.size })));
  } else {
    value = await compositeChecksum(algorithm, partChecksums);
  }
  const [base, count] = value.split('-');
  if ((expected.value !== undefined && expected.value !== base) || (expected.parts !== undefined && String(expected.parts) !== count)) {
    throw new S3Error('BadDigest', `The ${algorithm.toLowerCase()} you specified did not match the calculated checksum.`);
  }
  return { [algorithm]: value };
}

function checksumHeaders(checksums: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksums)) out[checksumHeaderName(alg as ChecksumAlgorithm)] = value;
  return out;
}

/** ChecksumCRC32, ChecksumSHA256, …: how S3's XML names a checksum. */
function checksumElements(checksums: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const alg of CHECKSUM_ALGORITHMS) if (checksums[alg] !== undefined) out[`Checksum${alg}`] = checksums[alg];
  return out;
}

// ---- CompleteMultipartUpload ----

/** A part as the Complete request lists it. */
interface RequestedPart {
  partNumber: number;
  /** Quoted, as stored. */
  etag: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** `<CompleteMultipartUpload><Part><PartNumber/><ETag/><ChecksumCRC32/>…</Part>…`; anything
 * else, or no parts, is MalformedXML. */
function parseCompleteBody(body: Buffer): RequestedPart[] {
  const root = parseXml(body.toString('utf8')).CompleteMultipartUpload;
  if (root === undefined || root === null) throw new S3Error('MalformedXML');
  const listed = typeof root === 'object' ? (root as Record<string, unknown>).Part : undefined;
  const parts = listed === undefined ? [] : Array.isArray(listed) ? listed : [listed];
  if (parts.length === 0) throw new S3Error('MalformedXML');
  return parts.map(requestedPart);
}

function requestedPart(raw: unknown): RequestedPart {
  if (typeof raw !== 'object' || raw === null) throw new S3Error('MalformedXML');
  const fields = raw as Record<string, unknown>;
  const number = fields.PartNumber;
  const etag = fields.ETag;
  if (typeof number !== 'string' || !/^\d{1,9}$/.test(number) || typeof etag !== 'string' || etag === '') throw new S3Error('MalformedXML');
  const checksums: RequestedPart['checksums'] = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const value = fields[`Checksum${alg}`];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isBase64Digest(value, alg)) {
      throw new S3Error('InvalidArgument', 'Invalid Base64 or multiple checksums present in request', {
        ArgumentName: 'Checksum', ArgumentValue: `${alg}:${String(value)};`,
      });
    }
    checksums[alg] = value;
  }
  return { partNumber: Number(number), etag: parseEtagList(etag)[0], checksums };
}

/**
 * The stored parts the request names, in its order, after S3's checks: ascending part
 * numbers (InvalidPartOrder; consecutive from 1 for a COMPOSITE checksum), each uploaded with
 * that ETag and checksum (InvalidPart), COMPOSITE part checksums present (InvalidRequest),
 * and every part but the last at least 5 MiB (EntityTooSmall).
 */
async function matchParts(services: Services, upload: Upload, requested: RequestedPart[]): Promise<Part[]> {
  const composite = upload.checksumType === 'COMPOSITE';
  requested.forEach((r, i) => {
    const ascending = i === 0 || r.partNumber > requested[i - 1].partNumber;
    if (!ascending || (composite && r.partNumber !== i + 1)) throw new S3Error('InvalidPartOrder', undefined, { UploadId: upload.uploadId });
  });
  // Part numbers are unique and ascending, so the first `last` parts hold every one numbered up to it.
  const last = requested[requested.length - 1].partNumber;
  const stored = new Map((await services.meta.listParts(upload.uploadId, 0, last)).map((p) => [p.partNumber, p]));
  const parts = requested.map((r) => matchPart(upload, r, stored.get(r.partNumber)));
  parts.forEach((p, i) => {
    if (i < parts.length - 1 && p.size < services.config.multipartMinPartBytes) {
      throw new S3Error('EntityTooSmall', undefined, {
        ProposedSize: String(p.size), MinSizeAllowed: String(services.config.multipartMinPartBytes), PartNumber: String(p.partNumber), ETag: p.etag.replace(/"/g, ''),
      });
    }
  });
  return parts;
}

function matchPart(upload: Upload, requested: RequestedPart, part: Part | undefined): Part {
  const invalid = () =>
    new S3Error('InvalidPart', undefined, { UploadId: upload.uploadId, PartNumber: String(requested.partNumber), ETag: requested.etag.replace(/"/g, '') });
  if (!part || part.etag !== requested.etag) throw invalid();
  for (const [alg, value] of Object.entries(requested.checksums)) if (part.checksums[alg] !== value) throw invalid();
  const algorithm = upload.checksumAlgorithm;
  if (algorithm && upload.checksumType === 'COMPOSITE' && requested.checksums[algorithm as ChecksumAlgorithm] === undefined) {
    throw new S3Error(
      'InvalidRequest',
      `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${requested.partNumber} in the request.`,
    );
  }
  return part;
}

/** S3's multipart ETag: the MD5 of the parts' binary MD5s, then "-" and the part count. */
function multipartEtag(parts: Part[]): string {
  const md5 = createHash('md5');
  for (const p of parts) md5.update(Buffer.from(p.etag.replace(/"/g, ''), 'hex'));
  return `"${md5.digest('hex')}-${parts.length}"`;
}

/** x-amz-mp-object-size: the size the client expects the object to have. */
function checkObjectSize(headers: IncomingHttpHeaders, parts: Part[]): void {
  const raw = single(headers['x-amz-mp-object-size']);
  if (raw === undefined) return;
  if (!/^-?\d+$/.test(raw)) throw new S3Error('InvalidRequest', `Value for x-amz-mp-object-size header is invalid: '${raw}'`);
  if (Number(raw) < 0) throw new S3Error('InvalidRequest', `Value for x-amz-mp-object-size header is less than zero: '${raw}'`);
  const size = parts.reduce((sum, p) => sum + p.size, 0);
  if (Number(raw) !== size) {
    throw new S3Error('InvalidRequest', `The provided 'x-amz-mp-object-size' header value ${raw} does not match what was computed: ${size}`);
  }
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
  return { ID: owner, DisplayName: owner === caller.owner ? caller.displayName : owner };
}
