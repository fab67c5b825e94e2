import { XMLParser } from 'fast-xml-parser';
import type { S3Call } from '../services';
import { MetadataError } from '../../metadata/store';
import { S3Error, isS3Error } from './errors';
import { MAX_KEY_BYTES } from './addressing';
import { readSmallBody } from './small-body';
import { isVersionId } from './versioning';
import { xmlDocument } from './xml';

const MAX_OBJECTS = 1000;
/** 1000 keys of 1 KiB, escaped, with their version ids: well under this. */
const DELETE_BODY_LIMIT = 4 * 1024 * 1024;
/** Deletes in flight at once for one request. */
const CONCURRENCY = 8;

interface Target {
  key: string;
  versionId?: string;
}

type Outcome =
  | { deleted: { Key: string; VersionId?: string; DeleteMarker?: boolean; DeleteMarkerVersionId?: string } }
  | { error: { Key: string; VersionId?: string; Code: string; Message: string } };

/**
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 * Each key is deleted as DeleteObject would; a failure is reported for that key alone.
 * Quiet mode answers only the failures.
 */
export async function deleteObjects(call: S3Call): Promise<void> {
  const { services, target, caller, reply } = call;
  await services.buckets.require(target.bucket, caller);
  const { quiet, objects } = parseDelete(await readSmallBody(call, { limit: DELETE_BODY_LIMIT, required: true }));
  const outcomes = await mapBounded(objects, CONCURRENCY, (o) => deleteOne(call, o));
  const deleted = quiet ? [] : outcomes.flatMap((o) => ('deleted' in o ? [o.deleted] : []));
  const errors = outcomes.flatMap((o) => ('error' in o ? [o.error] : []));
  reply.type('application/xml').send(xmlDocument('DeleteResult', { Deleted: deleted, Error: errors }));
}

async function deleteOne({ services, target, request }: S3Call, o: Target): Promise<Outcome> {
  const fail = (Code: string, Message: string): Outcome => ({ error: { Key: o.key, ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}), Code, Message } });
  // S3 answers a version id it could never have issued as a version that does not exist.
  if (o.versionId !== undefined && !isVersionId(o.versionId)) return fail('NoSuchVersion', 'The specified version does not exist.');
  if (Buffer.byteLength(o.key, 'utf8') > MAX_KEY_BYTES) return fail('KeyTooLongError', 'Your key is too long.');
  try {
    const r = await services.meta.deleteObject(target.bucket, o.key, o.versionId);
    if (o.versionId !== undefined) {
      return { deleted: { Key: o.key, VersionId: o.versionId, ...(r.deleteMarker ? { DeleteMarker: true, DeleteMarkerVersionId: o.versionId } : {}) } };
    }
    return { deleted: { Key: o.key, ...(r.deleteMarker ? { DeleteMarker: true, DeleteMarkerVersionId: r.versionId } : {}) } };
  } catch (e) {
    if (isS3Error(e)) return fail(e.code, e.message);
    if (e instanceof MetadataError) return fail(e.code, new S3Error(e.code).message);
    request.log.error({ err: e, key: o.key }, 'DeleteObjects: delete failed');
    return fail('InternalError', new S3Error('InternalError').message);
  }
}

/** Key text is taken exactly as sent (no trimming; character references such as `&#13;`
 * decoded), since keys may begin or end with white space. A DOCTYPE is refused outright:
 * S3's documents never need entities. */
const parser = new XMLParser({
  ignoreAttributes: true, parseTagValue: false, trimValues: false, processEntities: true, htmlEntities: true,
  isArray: (_name, path) => path === 'Delete.Object',
});

function parseDelete(body: Buffer): { quiet: boolean; objects: Target[] } {
  const text = body.toString('utf8');
  if (/<!DOCTYPE/i.test(text)) throw new S3Error('MalformedXML');
  let doc: { Delete?: unknown };
  try {
    doc = parser.parse(text, true) as { Delete?: unknown };
  } catch {
    throw new S3Error('MalformedXML');
  }
  const del = doc.Delete as { Object?: unknown[]; Quiet?: unknown } | undefined;
  if (typeof del !== 'object' || del === null || !Array.isArray(del.Object) || del.Object.length === 0) throw new S3Error('MalformedXML');
  if (del.Object.length > MAX_OBJECTS) throw new S3Error('MalformedXML');
  const quiet = typeof del.Quiet === 'string' && del.Quiet.trim().toLowerCase() === 'true';
  const objects = del.Object.map((entry): Target => {
    const { Key: key, VersionId: versionId } = (entry ?? {}) as { Key?: unknown; VersionId?: unknown };
    if (typeof key !== 'string' || key === '') throw new S3Error('MalformedXML');
    if (versionId !== undefined && typeof versionId !== 'string') throw new S3Error('MalformedXML');
    return { key, versionId: versionId === undefined ? undefined : versionId.trim() };
  });
  return { quiet, objects };
}

/** Runs `fn` over `items` with at most `limit` in flight, results in input order. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
