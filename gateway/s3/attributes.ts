import type { IncomingHttpHeaders } from 'node:http';
import type { BucketCall, S3Call } from '../services';
import type { ObjectPart, ObjectVersion } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { checkKey } from './addressing';
import { parseVersionId, readVersion, refuseDeleteMarker, versionIdHeader } from './versioning';
import { xmlDocument } from '../protocol/xml';

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];
const MAX_PARTS = 1000;

/**
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
 * Only the attributes named in x-amz-object-attributes, in S3's element order. The ETag is
 * bare (no quotes) here, as S3 writes it in this document.
 */
export async function getObjectAttributes({ bucket, services, target, caller, request, reply }: BucketCall): Promise<void> {
  checkKey(target.key);
  const wanted = parseAttributes(request.headers);
  const versionId = parseVersionId(target.query);
  const maxParts = Math.min(intHeader(request.headers, 'x-amz-max-parts') ?? MAX_PARTS, MAX_PARTS);
  const marker = intHeader(request.headers, 'x-amz-part-number-marker') ?? 0;
  const object = await readVersion(services.meta, target.bucket, target.key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, 'GET');

  const body: Record<string, unknown> = {};
  if (wanted.has('ETag')) body.ETag = object.etag.replace(/^"|"$/g, '');
  if (wanted.has('Checksum') && Object.keys(object.checksums).length > 0) {
    body.Checksum = { ...checksumElements(object.checksums), ChecksumType: object.checksumType ?? 'FULL_OBJECT' };
  }
  if (wanted.has('ObjectParts') && object.partCount !== undefined) {
    body.ObjectParts = await objectParts(services.meta, object, marker, maxParts);
  }
  if (wanted.has('StorageClass')) body.StorageClass = 'STANDARD';
  if (wanted.has('ObjectSize')) body.ObjectSize = object.size;
  reply
    .headers({ 'last-modified': object.lastModified.toUTCString(), ...versionIdHeader(bucket, object.versionId) })
    .type('application/xml')
    .send(xmlDocument('GetObjectAttributesResponse', body));
}

/** A comma-separated list, possibly over several headers; empty or absent is S3's
 * InvalidRequest, a name it does not know InvalidArgument. */
function parseAttributes(headers: IncomingHttpHeaders): Set<Attribute> {
  const raw = headers['x-amz-object-attributes'];
  const names = (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) {
    throw new S3Error('InvalidRequest', 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty');
  }
  for (const n of names) {
    if (!(ATTRIBUTES as readonly string[]).includes(n)) throw new S3Error('InvalidArgument', 'Invalid attribute name specified.');
  }
  return new Set(names as Attribute[]);
}

function intHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v[0] : v;
  if (!/^\d{1,9}$/.test(s.trim())) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: s });
  }
  return Number(s.trim());
}

/** { CRC32: v } → { ChecksumCRC32: v }, the element names S3 uses. */
function checksumElements(checksums: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(checksums).map(([alg, value]) => [`Checksum${alg}`, value]));
}

/** A multipart object's parts after `marker`, a page of at most `maxParts`, each with its
 * size and its checksums when the upload had an algorithm. */
async function objectParts(meta: S3Call['services']['meta'], object: ObjectVersion, marker: number, maxParts: number): Promise<Record<string, unknown>> {
  const parts = await meta.getObjectParts(object.id, marker, maxParts + 1);
  const page = parts.slice(0, maxParts);
  const truncated = parts.length > maxParts;
  return {
    PartsCount: object.partCount,
    PartNumberMarker: marker,
    ...(truncated ? { NextPartNumberMarker: page[page.length - 1]?.partNumber ?? marker } : {}),
    MaxParts: maxParts,
    IsTruncated: truncated,
    Part: page.map((p: ObjectPart) => ({ ...checksumElements(p.checksums), PartNumber: p.partNumber, Size: p.size })),
  };
}
