import type { BucketCall, S3Call } from '../services';
import type { Tags } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { checkKey } from './addressing';
import { parseVersionId, readVersion, refuseDeleteMarker, versionIdHeader, versionWriteError } from './versioning';
import { parseXml, xmlDocument } from '../protocol/xml';
import { readSmallBody } from './small-body';
import { xmlList } from '../protocol/xml-fields';

/**
 * Object and bucket tags, with S3's limits:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
 * Lengths count UTF-16 code units, as S3 says it represents tags ("characters consume
 * either 1 or 2 character positions"), which is what a JS string's length is.
 */
const LIMITS = { object: 10, bucket: 50 } as const;
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;
/** Unicode letters, numbers, white space and `_ . : / = + - @`. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAGGING_BODY_LIMIT = 64 * 1024;

type Scope = keyof typeof LIMITS;

/**
 * The x-amz-tagging header of PutObject, CreateMultipartUpload and CopyObject: URL query
 * encoded (`k1=v1&k2`, a key without `=` has the empty value, `+` is a space). A pair with
 * more than one `=`, bad escapes or a repeated key is InvalidArgument, as S3 answers; the
 * tags then pass the same checks as PutObjectTagging's.
 */
export function parseTaggingHeader(value: string): Tags {
  const invalid = () =>
    new S3Error('InvalidArgument', "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", {
      ArgumentName: 'x-amz-tagging', ArgumentValue: value,
    });
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const pair of value.split('&')) {
    if (pair === '') continue;
    const parts = pair.split('=');
    if (parts.length > 2) throw invalid();
    let key: string;
    let val: string;
    try {
      key = decodeURIComponent(parts[0].replace(/\+/g, ' '));
      val = decodeURIComponent((parts[1] ?? '').replace(/\+/g, ' '));
    } catch {
      throw invalid();
    }
    if (seen.has(key)) throw invalid();
    seen.add(key);
    entries.push([key, val]);
  }
  return checkTags(entries, 'object');
}

/** GetObject/HeadObject's x-amz-tagging-count: the number of tags, when there are any. */
export function tagCountHeader(tags: Tags): Record<string, string> {
  const n = Object.keys(tags).length;
  return n > 0 ? { 'x-amz-tagging-count': String(n) } : {};
}

/** Applies S3's limits; the result keeps the given order (Object.fromEntries makes even a
 * key like `__proto__` an ordinary entry). */
function checkTags(entries: [string, string][], scope: Scope): Tags {
  if (entries.length > LIMITS[scope]) {
    if (scope === 'object') throw new S3Error('InvalidTag', 'Object tags cannot be greater than 10');
    throw new S3Error('BadRequest', 'Bucket tag count cannot be greater than 50');
  }
  const seen = new Set<string>();
  for (const [key, value] of entries) {
    if (key.length === 0 || !TAG_TEXT.test(key)) throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid');
    if (key.length > MAX_KEY_LENGTH) throw new S3Error('InvalidTag', `The TagKey you have provided is too long, max ${MAX_KEY_LENGTH}`);
    if (!TAG_TEXT.test(value)) throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid');
    if (value.length > MAX_VALUE_LENGTH) throw new S3Error('InvalidTag', `The TagValue you have provided is too long, max ${MAX_VALUE_LENGTH}`);
    if (key.toLowerCase().startsWith('aws:')) {
      throw new S3Error('InvalidTag', scope === 'object' ? 'Your TagKey cannot be prefixed with aws:' : 'System tags cannot be added/updated by requester');
    }
    if (seen.has(key)) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
    seen.add(key);
  }
  return Object.fromEntries(entries);
}

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`, namespace optional.
 * Tagging, TagSet, Key and Value are required by S3's schema. */
function parseTagging(body: Buffer, scope: Scope): Tags {
  const tagging = parseXml(body.toString('utf8')).Tagging;
  if (typeof tagging !== 'object' || tagging === null || !('TagSet' in tagging)) throw new S3Error('MalformedXML');
  const tagSet = (tagging as { TagSet: unknown }).TagSet;
  if (tagSet === '') return checkTags([], scope);
  if (typeof tagSet !== 'object' || tagSet === null) throw new S3Error('MalformedXML');
  const tag = (tagSet as { Tag?: unknown }).Tag;
  const list = xmlList(tag);
  const entries = list.map((t): [string, string] => {
    const { Key: key, Value: value } = (t ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof key !== 'string' || typeof value !== 'string') throw new S3Error('MalformedXML');
    return [key, value];
  });
  return checkTags(entries, scope);
}

function taggingDocument(tags: Tags): string {
  return xmlDocument('Tagging', { TagSet: { Tag: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } });
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html */
export async function getObjectTagging({ bucket, services, target, caller, reply }: BucketCall): Promise<void> {
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  const object = await readVersion(services.meta, target.bucket, target.key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, 'GET');
  reply.headers(versionIdHeader(bucket, object.versionId)).type('application/xml').send(taggingDocument(object.tags));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html */
export async function putObjectTagging(call: BucketCall): Promise<void> {
  const { target, reply } = call;
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  const bucket = call.bucket;
  const tags = parseTagging(await readSmallBody(call, { limit: TAGGING_BODY_LIMIT, checked: true }), 'object');
  const stored = await storeObjectTags(call, versionId, tags);
  reply.headers(versionIdHeader(bucket, stored)).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjectTagging.html */
export async function deleteObjectTagging(call: BucketCall): Promise<void> {
  const { target, reply } = call;
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  const bucket = call.bucket;
  const stored = await storeObjectTags(call, versionId, {});
  reply.code(204).headers(versionIdHeader(bucket, stored)).send();
}

/** Replaces a version's tags (versionWriteError says why it could not). */
async function storeObjectTags({ services, target }: S3Call, versionId: string | undefined, tags: Tags): Promise<string> {
  const { bucket, key } = target;
  try {
    return await services.meta.putObjectTags(bucket, key, versionId, tags);
  } catch (e) {
    throw versionWriteError(e, key, versionId);
  }
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html */
export async function getBucketTagging({ bucket, services, target, caller, reply }: BucketCall): Promise<void> {
  // Tags are read fresh, not from the short bucket cache: another gateway may just have set them.
  services.buckets.forget(target.bucket);
  if (!bucket.tags || Object.keys(bucket.tags).length === 0) throw new S3Error('NoSuchTagSet', undefined, { BucketName: target.bucket });
  reply.type('application/xml').send(taggingDocument(bucket.tags));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html
 * An empty TagSet leaves the bucket without tags. */
export async function putBucketTagging(call: S3Call): Promise<void> {
  const { services, target, reply } = call;
  const tags = parseTagging(await readSmallBody(call, { limit: TAGGING_BODY_LIMIT, checked: true }), 'bucket');
  await services.buckets.update(target.bucket, { tags: Object.keys(tags).length > 0 ? tags : null });
  reply.code(204).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketTagging.html */
export async function deleteBucketTagging({ services, target, caller, reply }: S3Call): Promise<void> {
  await services.buckets.update(target.bucket, { tags: null });
  reply.code(204).send();
}
