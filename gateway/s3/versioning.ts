import { XMLBuilder } from 'fast-xml-parser';
import type { BucketCall, S3Call } from '../services';
import { MetadataError } from '../../metadata/store';
import type { Bucket, MetadataStore, ObjectVersion, VersionPage, VersionSummary, VersioningStatus } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { isoDate, parseXml, xmlDocument } from '../protocol/xml';
import { readSmallBody } from './small-body';
import { ownerElement, parseEncoding, parseMaxKeys } from './list';

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html
 * A bucket that never had versioning configured answers an empty configuration. */
export async function getBucketVersioning({ bucket, services, target, caller, reply }: BucketCall): Promise<void> {
  reply.type('application/xml').send(xmlDocument('VersioningConfiguration', bucket.versioning ? { Status: bucket.versioning } : {}));
}

/** A VersioningConfiguration is two short elements. */
const VERSIONING_BODY_LIMIT = 16 * 1024;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html */
export async function putBucketVersioning(call: S3Call): Promise<void> {
  const { services, target, reply } = call;
  const versioning = parseVersioningConfiguration(await readSmallBody(call, { limit: VERSIONING_BODY_LIMIT, checked: true }));
  try {
    await services.buckets.update(target.bucket, { versioning });
  } catch (e) {
    // The store keeps versioning Enabled on a bucket with object lock.
    if (e instanceof MetadataError && e.code === 'InvalidBucketState') {
      throw new S3Error('InvalidBucketState', 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.');
    }
    throw e;
  }
  reply.send();
}

/**
 * The Status of a VersioningConfiguration document, as S3 judges it: a document that does
 * not follow the schema (another root, unknown elements, a Status other than Enabled or
 * Suspended) is MalformedXML; a valid one without Status is
 * IllegalVersioningConfigurationException. MFA delete needs MFA devices rfs does not have.
 */
function parseVersioningConfiguration(body: Buffer): VersioningStatus {
  if (body.length === 0) throw new S3Error('MalformedXML');
  const doc = parseXml(body.toString('utf8'));
  const roots = Object.keys(doc).filter((k) => k !== '?xml');
  const conf = doc.VersioningConfiguration;
  if (roots.length !== 1 || conf === undefined) throw new S3Error('MalformedXML');
  if (typeof conf === 'string' && conf !== '') throw new S3Error('MalformedXML');
  const fields = typeof conf === 'object' && conf !== null ? (conf as Record<string, unknown>) : {};
  if (Object.keys(fields).some((k) => k !== 'Status' && k !== 'MfaDelete')) throw new S3Error('MalformedXML');
  const { Status: status, MfaDelete: mfaDelete } = fields;
  if (mfaDelete !== undefined && mfaDelete !== 'Enabled' && mfaDelete !== 'Disabled') throw new S3Error('MalformedXML');
  if (status === undefined) throw new S3Error('IllegalVersioningConfigurationException', 'The Versioning element must be specified');
  if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML');
  if (mfaDelete === 'Enabled') throw new S3Error('NotImplemented', 'MFA delete is not implemented.');
  return status;
}

/** The version ids the store issues are UUIDs, lower case; 'null' names the null version. */
const VERSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isVersionId(value: string): boolean {
  return value === 'null' || VERSION_ID.test(value);
}

/**
 * The `versionId` query parameter: undefined when absent. Anything the store could not
 * have issued is refused here, as S3 refuses it, and never reaches the store (whose column
 * is a UUID).
 */
export function parseVersionId(query: URLSearchParams, param = 'versionId'): string | undefined {
  const value = query.get(param);
  if (value === null) return undefined;
  if (value === '') throw new S3Error('InvalidArgument', 'Version id cannot be the empty string', { ArgumentName: param, ArgumentValue: '' });
  if (!isVersionId(value)) throw new S3Error('InvalidArgument', 'Invalid version id specified', { ArgumentName: param, ArgumentValue: value });
  return value;
}

/** One version (the current one without `versionId`), delete markers included; the store's
 * NoSuchKey / NoSuchVersion become S3's errors with the Key and VersionId fields. */
export async function readVersion(meta: MetadataStore, bucket: string, key: string, versionId?: string): Promise<ObjectVersion> {
  try {
    return await meta.getObject(bucket, key, versionId);
  } catch (e) {
    if (!(e instanceof MetadataError)) throw e;
    if (e.code === 'NoSuchKey') throw new S3Error('NoSuchKey', undefined, { Key: key });
    if (e.code === 'NoSuchVersion') throw new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId ?? '' });
    throw e;
  }
}

/**
 * What S3 answers to a read that lands on a delete marker: the current version being one,
 * the key is gone (404 NoSuchKey); a version id naming one, the method does not apply to
 * it (405 MethodNotAllowed, Allow: DELETE). Both say which marker it was.
 */
export function refuseDeleteMarker(object: ObjectVersion, byVersionId: boolean, method: string): void {
  if (!object.deleteMarker) return;
  const marker = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': object.versionId };
  if (!byVersionId) throw new S3Error('NoSuchKey', undefined, { Key: object.key }, marker);
  throw new S3Error(
    'MethodNotAllowed',
    undefined,
    { Method: method, ResourceType: 'DeleteMarker' },
    { ...marker, allow: 'DELETE', 'last-modified': object.lastModified.toUTCString() },
  );
}

/** A write to one version's subresource (tags, ACL) as the store refused it, in S3's words.
 * The store refuses a delete marker (MethodNotAllowed); when no version id named it, S3
 * treats the key as absent instead. */
export function versionWriteError(e: unknown, key: string, versionId: string | undefined): unknown {
  if (!(e instanceof MetadataError)) return e;
  if (e.code === 'MethodNotAllowed') {
    if (versionId === undefined) return new S3Error('NoSuchKey', undefined, { Key: key }, { 'x-amz-delete-marker': 'true' });
    return new S3Error('MethodNotAllowed', undefined, { Method: 'PUT', ResourceType: 'DeleteMarker' }, { 'x-amz-delete-marker': 'true', allow: 'DELETE' });
  }
  if (e.code === 'NoSuchKey') return new S3Error('NoSuchKey', undefined, { Key: key });
  if (e.code === 'NoSuchVersion') return new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId ?? '' });
  return e;
}

/** x-amz-version-id for a read: S3 names the version once the bucket has had versioning
 * configured, the null version included; in a never-versioned bucket it says nothing. */
export function versionIdHeader(bucket: Bucket, versionId: string): Record<string, string> {
  return bucket.versioning !== undefined || versionId !== 'null' ? { 'x-amz-version-id': versionId } : {};
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 * Works on any bucket: a never-versioned one lists its objects with version id null. */
export async function listObjectVersions(call: S3Call): Promise<void> {
  const { services, target, reply } = call;
  const q = target.query;
  // S3's order of validation: max-keys, the markers, then encoding-type.
  const maxKeys = parseMaxKeys(q);
  const { keyMarker, versionIdMarker } = parseVersionMarkers(q);
  const encode = parseEncoding(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const page = await services.meta.listVersions({ bucket: target.bucket, prefix, delimiter, keyMarker, versionIdMarker, maxKeys });
  const listing = { prefix, delimiter, keyMarker, versionIdMarker, maxKeys, encode, encodingType: q.has('encoding-type') };
  reply.type('application/xml').send(versionsDocument(call, page, listing));
}

function parseVersionMarkers(q: URLSearchParams): { keyMarker: string; versionIdMarker: string } {
  const keyMarker = q.get('key-marker') ?? '';
  const versionIdMarker = q.get('version-id-marker');
  if (versionIdMarker === null) return { keyMarker, versionIdMarker: '' };
  const invalid = (message: string) =>
    new S3Error('InvalidArgument', message, { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker });
  if (keyMarker === '') throw invalid('A version-id marker cannot be specified without a key marker.');
  if (versionIdMarker === '') throw invalid('A version-id marker cannot be empty.');
  if (!isVersionId(versionIdMarker)) throw invalid('Invalid version id specified');
  return { keyMarker, versionIdMarker };
}

interface Listing {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  versionIdMarker: string;
  maxKeys: number;
  encode: (s: string) => string;
  encodingType: boolean;
}

/** An element of an order-preserving XML tree (Version and DeleteMarker interleave in the
 * store's order, which the object form of xmlDocument cannot express). */
type XmlNode = Record<string, unknown>;

function el(name: string, content: string | number | boolean | XmlNode[]): XmlNode {
  return { [name]: Array.isArray(content) ? content : [{ '#text': String(content) }] };
}

const orderedBuilder = new XMLBuilder({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@', suppressEmptyNode: false, processEntities: true });

function versionsDocument(call: S3Call, page: VersionPage, l: Listing): string {
  const { encode } = l;
  const optional = (present: boolean, node: () => XmlNode): XmlNode[] => (present ? [node()] : []);
  const children: XmlNode[] = [
    el('Name', call.target.bucket),
    el('Prefix', encode(l.prefix)),
    el('KeyMarker', encode(l.keyMarker)),
    el('VersionIdMarker', l.versionIdMarker),
    ...optional(page.isTruncated && page.nextKeyMarker !== undefined, () => el('NextKeyMarker', encode(page.nextKeyMarker!))),
    ...optional(page.isTruncated && page.nextVersionIdMarker !== undefined, () => el('NextVersionIdMarker', page.nextVersionIdMarker!)),
    el('MaxKeys', l.maxKeys),
    ...optional(l.delimiter !== '', () => el('Delimiter', encode(l.delimiter))),
    el('IsTruncated', page.isTruncated),
    ...page.versions.map((v) => versionEntry(call, v, encode)),
    ...page.commonPrefixes.map((p) => el('CommonPrefixes', [el('Prefix', encode(p))])),
    ...optional(l.encodingType, () => el('EncodingType', 'url')),
  ];
  const root = { ListVersionsResult: children, ':@': { '@xmlns': 'http://s3.amazonaws.com/doc/2006-03-01/' } };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${orderedBuilder.build([root])}`;
}

function versionEntry(call: S3Call, v: VersionSummary, encode: (s: string) => string): XmlNode {
  const owner = ownerElement(v.owner, call);
  const ownerNode = el('Owner', [el('ID', owner.ID), el('DisplayName', owner.DisplayName)]);
  const head = [el('Key', encode(v.key)), el('VersionId', v.versionId), el('IsLatest', v.isLatest), el('LastModified', isoDate(v.lastModified))];
  if (v.deleteMarker) return el('DeleteMarker', [...head, ownerNode]);
  const checksums = v.checksumAlgorithms.length > 0
    ? [...v.checksumAlgorithms.map((a) => el('ChecksumAlgorithm', a)), el('ChecksumType', v.checksumType ?? 'FULL_OBJECT')]
    : [];
  return el('Version', [...head, el('ETag', v.etag), el('Size', v.size), ...checksums, el('StorageClass', 'STANDARD'), ownerNode]);
}
