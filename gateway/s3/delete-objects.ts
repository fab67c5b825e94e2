import { XMLParser } from 'fast-xml-parser';
import type { BucketCall } from '../services';
import { type DeleteResult, type DeleteTarget, MetadataError } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { MAX_KEY_BYTES } from './addressing';
import { readSmallBody } from './small-body';
import { isVersionId } from './versioning';
import { xmlDocument } from '../protocol/xml';
import { governanceBypass, objectLocked } from './object-lock';

const MAX_OBJECTS = 1000;
/** 1000 keys of 1 KiB, escaped, with their version ids: well under this. */
const DELETE_BODY_LIMIT = 4 * 1024 * 1024;

interface Target {
  key: string;
  versionId?: string;
}

type Outcome =
  | { deleted: { Key: string; VersionId?: string; DeleteMarker?: boolean; DeleteMarkerVersionId?: string } }
  | { error: { Key: string; VersionId?: string; Code: string; Message: string } };

/**
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 * Each key is deleted as DeleteObject would, all in one metadata transaction; a key the
 * request names wrongly is reported alone. Quiet mode answers only the failures.
 */
export async function deleteObjects(call: BucketCall): Promise<void> {
  const { services, reply } = call;
  const bucket = call.bucket;
  const { quiet, objects } = parseDelete(await readSmallBody(call, { limit: DELETE_BODY_LIMIT, required: true }));
  const outcomes = new Array<Outcome>(objects.length);
  const valid: number[] = [];
  const targets = new Array<DeleteTarget>(objects.length);
  await Promise.all(objects.map(async (o, i) => {
    // S3 answers a version id it could never have issued as a version that does not exist.
    if (o.versionId !== undefined && !isVersionId(o.versionId)) outcomes[i] = failure(o, 'NoSuchVersion', 'The specified version does not exist.');
    else if (Buffer.byteLength(o.key, 'utf8') > MAX_KEY_BYTES) outcomes[i] = failure(o, 'KeyTooLongError', 'Your key is too long.');
    else if (!(await mayDelete(call, o))) outcomes[i] = failure(o, 'AccessDenied', 'Access Denied');
    else {
      // The bypass of GOVERNANCE retention is authorized version by version, as DeleteObject's.
      targets[i] = { ...o, bypassGovernance: o.versionId !== undefined && (await governanceBypass(call, [o])) };
      valid.push(i);
    }
  }));
  valid.sort((a, b) => a - b);
  try {
    const results = await services.objects.deleteMany(bucket, valid.map((i) => targets[i]));
    valid.forEach((i, n) => (outcomes[i] = deleted(objects[i], results[n])));
  } catch (e) {
    // The batch is one transaction: if it fails, every key in it failed.
    const code = e instanceof MetadataError ? e.code : 'InternalError';
    if (!(e instanceof MetadataError)) call.request.log.error({ err: e }, 'DeleteObjects: delete failed');
    for (const i of valid) outcomes[i] = failure(objects[i], code, new S3Error(code).message);
  }
  const deletedEntries = quiet ? [] : outcomes.flatMap((o) => ('deleted' in o ? [o.deleted] : []));
  const errors = outcomes.flatMap((o) => ('error' in o ? [o.error] : []));
  reply.type('application/xml').send(xmlDocument('DeleteResult', { Deleted: deletedEntries, Error: errors }));
}

/** Each key is authorized as its own DeleteObject would be; a refusal is that key's error. */
async function mayDelete(call: BucketCall, o: Target): Promise<boolean> {
  const action = o.versionId === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion';
  try {
    await call.authorize(action, call.target.bucket, o.key, o.versionId);
    return true;
  } catch (e) {
    if (e instanceof S3Error && e.code === 'AccessDenied') return false;
    throw e;
  }
}

function deleted(o: Target, r: DeleteResult): Outcome {
  if (r.refused) return failure(o, 'AccessDenied', objectLocked().message);
  if (o.versionId !== undefined) {
    return { deleted: { Key: o.key, VersionId: o.versionId, ...(r.deleteMarker ? { DeleteMarker: true, DeleteMarkerVersionId: o.versionId } : {}) } };
  }
  return { deleted: { Key: o.key, ...(r.deleteMarker ? { DeleteMarker: true, DeleteMarkerVersionId: r.versionId } : {}) } };
}

function failure(o: Target, Code: string, Message: string): Outcome {
  return { error: { Key: o.key, ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}), Code, Message } };
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
  // XML has no NUL, and PostgreSQL cannot store one (every key of the batch would fail).
  if (text.includes('\0')) throw new S3Error('MalformedXML');
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
