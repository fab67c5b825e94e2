import { randomUUID } from 'node:crypto';
import type { S3Call } from '../services';
import { objectFilterKey } from '../services';
import { S3Error } from './errors';
import { checkKey } from './addressing';
import { checkReadConditions, parseEtagList } from './conditions';
import { parseRange } from './range';
import { objectResponseHeaders, storedHeaders, userMetadata } from './object-headers';
import { receiveBody } from '../chunks/upload';
import { readObjectRange } from '../chunks/reader';
import type { ObjectVersion, WriteCondition } from '../../metadata/store';

/** S3's limit for a single PUT; larger objects go through multipart upload. */
const MAX_PUT_BYTES = 5 * 1024 ** 3;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html */
export async function putObject({ services, target, caller, payload, request, reply }: S3Call): Promise<void> {
  const { bucket, key } = target;
  checkKey(key);
  const headers = request.headers;
  const declared = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length'] ?? 0);
  if (declared > MAX_PUT_BYTES) throw new S3Error('EntityTooLarge', undefined, { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_PUT_BYTES) });
  const meta = userMetadata(headers);
  const condition = writeCondition(headers);
  await services.buckets.require(bucket, caller);
  // Fail a create-only write before reading the body when the key plainly exists; the
  // authoritative check is the one inside the commit transaction.
  if (condition.ifNoneMatch && (await services.objectFilter.mightContain(objectFilterKey(bucket, key)))) {
    const exists = await services.meta.getObject(bucket, key).then(() => true, () => false);
    if (exists) throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
  }

  const body = await receiveBody(request.raw, headers, payload, services.chunks, services.config, services.writeSlots, services.hashes);
  const etag = `"${body.md5Hex}"`;
  await services.objectFilter.add(objectFilterKey(bucket, key));
  await services.meta.putObject(
    {
      bucket, key, id: randomUUID(), size: body.size, etag, owner: caller.owner, tags: {},
      headers: storedHeaders(headers), userMetadata: meta, checksums: body.checksums as Record<string, string>,
      inline: body.inline, chunks: body.chunks,
    },
    condition,
  );
  reply.header('etag', etag);
  for (const [alg, value] of Object.entries(body.checksums)) reply.header(`x-amz-checksum-${alg.toLowerCase()}`, value);
  reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html */
export async function getObject(call: S3Call): Promise<void> {
  const { services } = call;
  const { object, start, end } = await describeObject(call);
  return call.reply.send(readObjectRange(services.meta, services.chunks, object, start, end, services.config.readAhead));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html */
export async function headObject(call: S3Call): Promise<void> {
  await describeObject(call);
  call.reply.send();
}

/** Looks the object up and sets what GET and HEAD answer alike: status, object headers,
 * Content-Length, and for a range 206 with Content-Range (without the whole-object
 * checksums, which do not describe a range). Returns the byte span to send. */
async function describeObject(call: S3Call): Promise<{ object: ObjectVersion; start: number; end: number }> {
  const { target, request, reply } = call;
  const object = await lookupObject(call);
  const range = parseRange(rangeHeader(call), object.size);
  const headers = objectResponseHeaders(object, target.query, !range && request.headers['x-amz-checksum-mode'] === 'ENABLED');
  const { start, end } = range ?? { start: 0, end: object.size - 1 };
  reply.headers(headers).header('content-length', String(end - start + 1));
  if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${object.size}`);
  return { object, start, end };
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
 * Deleting a key that does not exist succeeds, as on S3. */
export async function deleteObject({ services, target, caller, reply }: S3Call): Promise<void> {
  checkKey(target.key);
  await services.buckets.require(target.bucket, caller);
  await services.meta.deleteObject(target.bucket, target.key);
  reply.code(204).send();
}

/** The object with its read preconditions checked; the key filter answers most misses. */
async function lookupObject({ services, target, caller, request }: S3Call): Promise<ObjectVersion> {
  const { bucket, key } = target;
  checkKey(key);
  await services.buckets.require(bucket, caller);
  if (!(await services.objectFilter.mightContain(objectFilterKey(bucket, key)))) {
    throw new S3Error('NoSuchKey', undefined, { Key: key });
  }
  const object = await services.meta.getObject(bucket, key);
  checkReadConditions(request.headers, object.etag, object.lastModified);
  return object;
}

function rangeHeader({ request, target }: S3Call): string | undefined {
  if (target.query.has('partNumber')) throw new S3Error('NotImplemented', 'partNumber is not implemented yet.');
  const r = request.headers.range;
  return typeof r === 'string' ? r : undefined;
}

function writeCondition(headers: S3Call['request']['headers']): WriteCondition {
  const condition: WriteCondition = {};
  const ifNoneMatch = headers['if-none-match'];
  if (typeof ifNoneMatch === 'string') {
    if (ifNoneMatch.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on PUT supports only *.');
    condition.ifNoneMatch = '*';
  }
  const ifMatch = headers['if-match'];
  if (typeof ifMatch === 'string') condition.ifMatch = parseEtagList(ifMatch);
  return condition;
}
