import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { BucketCall, Services } from '../services';
import { MetadataError, type ObjectVersion, type Part, type Upload } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { single } from '../protocol/headers';
import { parseXml, xmlDocument } from '../protocol/xml';
import { CHECKSUM_ALGORITHMS, checksumHeaderName, isBase64Digest, type ChecksumAlgorithm } from '../body/checksums';
import { combineCrcs, compositeChecksum, isCombinable } from '../body/checksum-combine';
import { parseEtagList, writeCondition } from './conditions';
import { readSmallBody } from './small-body';
import { checksumElements, checksumTypeOf, openUpload, UUID } from './multipart';
import { xmlList } from '../protocol/xml-fields';
import { expirationHeader } from '../objects/lifecycle-rules';

/** A CompleteMultipartUpload body of 10,000 parts, each with a SHA-256, is about 2 MiB. */
const MAX_COMPLETE_BODY_BYTES = 8 * 1024 * 1024;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * Validates the part list against the stored parts, then commits the object from the parts'
 * chunk references in one transaction: no data is read or copied. */
export async function completeMultipartUpload(call: BucketCall): Promise<void> {
  const { services, request } = call;
  const upload = await openUpload(call).catch((e: unknown) => retried(call, e));
  if (!upload) return;
  const requested = parseCompleteBody(await readSmallBody(call, { limit: MAX_COMPLETE_BODY_BYTES }));
  const expected = expectedChecksum(upload, request.headers);
  const parts = await matchParts(services, upload, requested);
  const checksums = await objectChecksums(upload, parts, expected);
  const size = parts.reduce((sum, p) => sum + p.size, 0);
  checkObjectSize(request.headers, size);
  await services.quota.checkComplete(call.bucket, size);
  const etag = multipartEtag(parts);
  const condition = writeCondition(request.headers);
  const { versionId } = await services.objects.complete(upload, parts, { etag, checksums }, condition);
  sendResult(call, { versionId, etag, checksums, checksumType: upload.checksumType, size, tags: upload.tags, lastModified: new Date() });
}

/** A Complete retried after the first one succeeded (SDKs, s3a and rclone retry after a
 * timeout): the upload is gone, but the version it became answers as the first call did. */
async function retried(call: BucketCall, e: unknown): Promise<undefined> {
  const { services, target } = call;
  const uploadId = target.query.get('uploadId') ?? '';
  const gone = (e instanceof MetadataError || e instanceof S3Error) && e.code === 'NoSuchUpload';
  const done = gone && UUID.test(uploadId) ? await services.meta.completedVersion(target.bucket, target.key, uploadId) : undefined;
  if (!done) throw e;
  await readSmallBody(call, { limit: MAX_COMPLETE_BODY_BYTES });
  sendResult(call, done);
  return undefined;
}

type Completed = Pick<ObjectVersion, 'versionId' | 'etag' | 'checksums' | 'checksumType' | 'size' | 'tags' | 'lastModified'>;

function sendResult(call: BucketCall, done: Completed): void {
  const { target, request, reply, services } = call;
  if (done.versionId !== 'null') reply.header('x-amz-version-id', done.versionId);
  reply.headers(expirationHeader(call.bucket.lifecycle, { ...done, key: target.key }, services.config.lifecycleDayMs));
  reply.type('application/xml').send(
    xmlDocument('CompleteMultipartUploadResult', {
      Location: `${request.protocol}://${request.headers.host ?? ''}${target.rawPath}`,
      Bucket: target.bucket,
      Key: target.key,
      ETag: done.etag,
      ...checksumElements(done.checksums),
      ...(done.checksumType ? { ChecksumType: done.checksumType } : {}),
    }),
  );
}

// ---- the object's checksum ----

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

// ---- the part list ----

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
  const parts = xmlList(listed);
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
function checkObjectSize(headers: IncomingHttpHeaders, size: number): void {
  const raw = single(headers['x-amz-mp-object-size']);
  if (raw === undefined) return;
  if (!/^-?\d+$/.test(raw)) throw new S3Error('InvalidRequest', `Value for x-amz-mp-object-size header is invalid: '${raw}'`);
  if (Number(raw) < 0) throw new S3Error('InvalidRequest', `Value for x-amz-mp-object-size header is less than zero: '${raw}'`);
  if (Number(raw) !== size) {
    throw new S3Error('InvalidRequest', `The provided 'x-amz-mp-object-size' header value ${raw} does not match what was computed: ${size}`);
  }
}
