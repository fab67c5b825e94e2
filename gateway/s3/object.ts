import type { BucketCall } from '../services';
import { writerOf } from '../iam/authorize';
import { newObjectAcl } from './ownership';
import { S3Error } from '../protocol/errors';
import { checkKey } from './addressing';
import { checkReadConditions, writeCondition } from './conditions';
import { parseRange } from './range';
import { objectResponseHeaders, storedHeaders, userMetadata } from './object-headers';
import type { Bucket, MetadataStore, ObjectVersion } from '../../metadata/store';
import { parseVersionId, readVersion, refuseDeleteMarker, versionIdHeader } from './versioning';
import { parseTaggingHeader } from './tagging';
import { governanceBypass, lockResponseHeaders, objectLocked, writeLock } from './object-lock';
import { expirationHeader } from '../objects/lifecycle-rules';

/** S3's limit for a single PUT; larger objects go through multipart upload. */
const MAX_PUT_BYTES = 5 * 1024 ** 3;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html */
export async function putObject(call: BucketCall): Promise<void> {
  const { services, target, caller, payload, request, reply } = call;
  const { bucket, key } = target;
  checkKey(key);
  const headers = request.headers;
  const declared = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length'] ?? 0);
  if (declared > MAX_PUT_BYTES) throw new S3Error('EntityTooLarge', undefined, { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_PUT_BYTES) });
  const meta = userMetadata(headers);
  const tagging = headers['x-amz-tagging'];
  const tags = typeof tagging === 'string' ? parseTaggingHeader(tagging) : {};
  const condition = writeCondition(headers);
  const lock = await writeLock(call, { integrity: true });
  const { owner, acl } = await newObjectAcl(call, call.bucket, writerOf(caller));
  // A chunked body's length shows only at its end; a bucket with a quota needs it up front.
  const unsized = headers['content-length'] === undefined && headers['x-amz-decoded-content-length'] === undefined;
  if (unsized && call.bucket.quotaBytes != null) throw new S3Error('MissingContentLength');
  await services.quota.check(call.bucket, declared);
  const { etag, versionId, checksums, size } = await services.objects.put(
    { bucket, key, owner, acl, tags, headers: storedHeaders(headers), userMetadata: meta, ...lock },
    { source: request.raw, headers, payload, maxUnsized: MAX_PUT_BYTES },
    condition,
  );
  reply.header('etag', etag);
  // S3 names the version a PUT made, but not the null version of a Suspended bucket (the
  // PutObject reference's "versioning suspended" example has no x-amz-version-id).
  if (versionId !== 'null') reply.header('x-amz-version-id', versionId);
  for (const [alg, value] of Object.entries(checksums)) reply.header(`x-amz-checksum-${alg.toLowerCase()}`, value);
  reply.headers(expirationHeader(call.bucket.lifecycle, { key, size, tags, lastModified: new Date() }, services.config.lifecycleDayMs));
  reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html */
export async function getObject(call: BucketCall): Promise<void> {
  const { services } = call;
  const { object, start, end } = await describeObject(call);
  return call.reply.send(services.objects.read(object, start, end));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html */
export async function headObject(call: BucketCall): Promise<void> {
  await describeObject(call);
  call.reply.send();
}

/** The bytes a GET sends: all of them, a Range, or one part (?partNumber). */
interface Selection {
  start: number;
  end: number;
  /** Answered 206 with Content-Range. */
  partial: boolean;
  /** The selection is the whole object, so its whole-object checksums describe it. */
  whole: boolean;
  /** x-amz-mp-parts-count, for a part of a multipart object. */
  partsCount?: number;
}

/** Looks the object (or the requested version) up and sets what GET and HEAD answer alike:
 * status, object headers, version id, Content-Length, and for a range or a part 206 with
 * Content-Range. Returns the byte span to send. */
async function describeObject(call: BucketCall): Promise<{ object: ObjectVersion; start: number; end: number }> {
  const { services, target, request, reply } = call;
  const versionId = parseVersionId(target.query);
  const partNumber = parsePartNumber(target.query);
  const range = typeof request.headers.range === 'string' ? request.headers.range : undefined;
  if (partNumber !== undefined && range !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  const { bucket, object } = await lookupObject(call, versionId);
  const sel = partNumber !== undefined ? await selectPart(services.meta, object, partNumber) : selectRange(range, object.size);
  const headers = objectResponseHeaders(object, target.query, sel.whole && request.headers['x-amz-checksum-mode'] === 'ENABLED');
  reply.headers(headers).headers(versionIdHeader(bucket, object.versionId)).header('content-length', String(sel.end - sel.start + 1));
  if (object.isLatest) reply.headers(expirationHeader(bucket.lifecycle, object, services.config.lifecycleDayMs));
  reply.headers(await lockResponseHeaders(call, object));
  if (sel.partsCount !== undefined) reply.header('x-amz-mp-parts-count', String(sel.partsCount));
  if (sel.partial) reply.code(206).header('content-range', `bytes ${sel.start}-${sel.end}/${object.size}`);
  return { object, start: sel.start, end: sel.end };
}

function selectRange(header: string | undefined, size: number): Selection {
  const range = parseRange(header, size);
  return range ? { ...range, partial: true, whole: false } : { start: 0, end: size - 1, partial: false, whole: true };
}

/**
 * Part N of a multipart object, as S3 serves it: 206, the part's bytes, the part count. An
 * object from a single PUT is one part: partNumber=1 is the whole object, still 206 with
 * Content-Range (an empty object has no byte range to name, so rfs answers it 200).
 */
async function selectPart(meta: MetadataStore, object: ObjectVersion, n: number): Promise<Selection> {
  const count = object.partCount ?? 1;
  if (n > count) throw new S3Error('InvalidPartNumber', undefined, { PartNumberRequested: String(n), ActualPartCount: String(count) });
  if (object.partCount === undefined) return { start: 0, end: object.size - 1, partial: object.size > 0, whole: true };
  const [part] = await meta.getObjectParts(object.id, n - 1, 1);
  if (part?.partNumber !== n) throw new Error(`part ${n} of version ${object.id} is missing from its manifest`);
  return { start: part.pos, end: part.pos + part.size - 1, partial: part.size > 0, whole: count === 1, partsCount: count };
}

/** ?partNumber: an integer 1–10000, else InvalidArgument (S3's wording). */
function parsePartNumber(q: URLSearchParams): number | undefined {
  const raw = q.get('partNumber');
  if (raw === null) return undefined;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : 0;
  if (n < 1 || n > 10000) throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: raw });
  return n;
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
 * Deleting a key or a version that does not exist succeeds, as on S3. The answer names the
 * version removed or the delete marker created. A version under object lock stays (403). */
export async function deleteObject(call: BucketCall): Promise<void> {
  const { bucket, services, target, reply } = call;
  const { key } = target;
  checkKey(key);
  const versionId = parseVersionId(target.query);
  const bypassGovernance = versionId !== undefined && (await governanceBypass(call, [{ key, versionId }]));
  const result = await services.objects.delete(bucket, key, versionId, { bypassGovernance });
  if (result.refused) throw objectLocked();
  const named = result.versionId ?? versionId;
  if (named !== undefined) reply.header('x-amz-version-id', named);
  if (result.deleteMarker) reply.header('x-amz-delete-marker', 'true');
  reply.code(204).send();
}

/**
 * The object (or the version asked for), readable, with its read preconditions checked. The
 * key filter answers most misses, but only for the current version: the filter holds every
 * key whose newest version is an object or a delete marker (the object layer rebuilds it so),
 * while a version id may name a noncurrent version of any key.
 */
async function lookupObject({ bucket, services, target, request }: BucketCall, versionId: string | undefined): Promise<{ bucket: Bucket; object: ObjectVersion }> {
  const { bucket: name, key } = target;
  checkKey(key);
  if (versionId === undefined && !(await services.objects.mayExist(name, key))) {
    throw new S3Error('NoSuchKey', undefined, { Key: key });
  }
  const object = await readVersion(services.meta, name, key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, request.method);
  checkReadConditions(request.headers, object.etag, object.lastModified);
  return { bucket, object };
}

