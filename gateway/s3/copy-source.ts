import type { IncomingHttpHeaders } from 'node:http';
import type { S3Call } from '../services';
import type { ObjectVersion } from '../../metadata/store';
import { S3Error, isS3Error } from '../protocol/errors';
import { checkReadConditions } from './conditions';
import { parseVersionId, readVersion, refuseDeleteMarker } from './versioning';

/**
 * The source of CopyObject and UploadPartCopy, as `x-amz-copy-source` names it: the
 * version to copy, readable by the caller, with the x-amz-copy-source-if-* conditions held.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 */
export interface CopySource {
  bucket: string;
  key: string;
  /** The version id the header asked for, if any. */
  versionId?: string;
  /** The version to copy; never a delete marker. */
  object: ObjectVersion;
}

/** Parses x-amz-copy-source, checks the caller may read the source bucket, fetches the
 * version and evaluates the copy-source conditions (PreconditionFailed 412). */
export async function readCopySource({ services, request, authorize }: S3Call): Promise<CopySource> {
  const { bucket, key, versionId } = parseCopySource(request.headers['x-amz-copy-source']);
  await authorize(versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion', bucket, key, versionId);
  if (!(await services.objects.mayExist(bucket, key))) {
    throw new S3Error('NoSuchKey', undefined, { Key: key });
  }
  const object = await readVersion(services.meta, bucket, key, versionId);
  if (object.deleteMarker && versionId !== undefined) {
    throw new S3Error('InvalidRequest', 'The source of a copy request may not specifically refer to a delete marker by version id.');
  }
  refuseDeleteMarker(object, false, 'PUT');
  checkCopyConditions(request.headers, object);
  return { bucket, key, versionId, object };
}

/** `bucket/key` or `/bucket/key`, URL-encoded, optionally `?versionId=…`. */
export function parseCopySource(header: string | string[] | undefined): { bucket: string; key: string; versionId?: string } {
  const given = Array.isArray(header) ? header[0] : header;
  // Node reads header bytes as latin1: a client that sent the key as raw UTF-8 gets it back.
  const raw = given !== undefined && /[^\x00-\x7f]/.test(given) ? Buffer.from(given, 'latin1').toString('utf8') : given;
  const invalid = () =>
    new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      ArgumentName: 'x-amz-copy-source', ArgumentValue: raw ?? '',
    });
  if (raw === undefined) throw invalid();
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const versionId = q < 0 ? undefined : versionIdOf(raw.slice(q + 1));
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw invalid();
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw invalid();
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

/** The versionId parameter of the header's query, checked as the versionId query parameter
 * is; other parameters are ignored. */
function versionIdOf(query: string): string | undefined {
  return parseVersionId(new URLSearchParams(query));
}

const CONDITIONS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'] as const;

/**
 * The x-amz-copy-source-if-* headers, with GET's precedence (a true if-match overrides a
 * false if-unmodified-since; a false if-none-match overrides a true if-modified-since), but
 * where GET answers 304 a copy answers 412 PreconditionFailed.
 */
export function checkCopyConditions(headers: IncomingHttpHeaders, object: Pick<ObjectVersion, 'etag' | 'lastModified'>): void {
  const asRead: IncomingHttpHeaders = {};
  for (const name of CONDITIONS) {
    const v = headers[`x-amz-copy-source-${name}`];
    if (typeof v === 'string') asRead[name] = v;
  }
  try {
    checkReadConditions(asRead, object.etag, object.lastModified);
  } catch (e) {
    if (!isS3Error(e) || (e.code !== 'NotModified' && e.code !== 'PreconditionFailed')) throw e;
    const failed = e.code === 'PreconditionFailed' ? e.fields.Condition : asRead['if-none-match'] !== undefined ? 'If-None-Match' : 'If-Modified-Since';
    throw new S3Error('PreconditionFailed', undefined, { Condition: `x-amz-copy-source-${failed}` });
  }
}

/**
 * x-amz-copy-source-range (UploadPartCopy): `bytes=first-last`, both offsets given, within
 * the source. Absent → undefined (the whole source). S3 answers InvalidArgument for a
 * malformed range and InvalidRange (416) for one past the end of the source.
 */
export function parseCopySourceRange(header: string | string[] | undefined, size: number): { start: number; end: number } | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(raw.trim());
  if (!m || Number(m[1]) > Number(m[2])) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: raw },
    );
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end >= size) throw new S3Error('InvalidRange', undefined, { RangeRequested: raw, ActualObjectSize: String(size) });
  return { start, end };
}

/** x-amz-copy-source-version-id for the answer: the source's version, when it has one. */
export function copySourceVersionHeader(source: CopySource): Record<string, string> {
  return source.object.versionId === 'null' ? {} : { 'x-amz-copy-source-version-id': source.object.versionId };
}
