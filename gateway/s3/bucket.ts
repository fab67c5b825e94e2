import type { BucketCall, S3Call } from '../services';
import { S3Error } from '../protocol/errors';
import { MetadataError } from '../../metadata/store';
import { writerOf } from '../iam/authorize';
import { createBucketAccess } from './ownership';
import { isValidBucketName } from './addressing';
import { isoDate, parseXml, xmlDocument } from '../protocol/xml';
import { readSmallBody } from './small-body';
import { single } from '../protocol/headers';

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html */
export async function createBucket(call: S3Call): Promise<void> {
  const { services, target, caller, reply } = call;
  const name = target.bucket;
  if (!isValidBucketName(name)) throw new S3Error('InvalidBucketName', undefined, { BucketName: name });
  const body = await readSmallBody(call);
  let region = services.config.region;
  if (body.length > 0) {
    const doc = parseXml(body.toString('utf8'));
    const conf = doc.CreateBucketConfiguration as Record<string, unknown> | undefined;
    if (conf === undefined) throw new S3Error('MalformedXML');
    if (typeof conf === 'object' && typeof conf.LocationConstraint === 'string' && conf.LocationConstraint !== '') region = conf.LocationConstraint;
  }
  const owner = writerOf(caller);
  const { acl, ownership } = await createBucketAccess(call, owner);
  // Object lock comes with versioning Enabled (the store sets both).
  const objectLock = single(call.request.headers['x-amz-bucket-object-lock-enabled'])?.toLowerCase() === 'true' ? {} : undefined;
  try {
    await services.meta.createBucket({ name, owner, region, acl, ownership, objectLock });
    await services.buckets.changed(name);
  } catch (e) {
    // AWS's legacy answer in us-east-1, which clients that "make sure" a bucket exists rely
    // on: creating one's own bucket again succeeds and changes nothing.
    if (!(e instanceof MetadataError && e.code === 'BucketAlreadyOwnedByYou' && region === 'us-east-1')) throw e;
  }
  reply.header('location', `/${name}`).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html */
export async function headBucket({ bucket, services, target, caller, reply }: BucketCall): Promise<void> {
  reply.header('x-amz-bucket-region', bucket.region).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html */
export async function deleteBucket({ services, target, caller, reply }: S3Call): Promise<void> {
  await services.buckets.delete(target.bucket);
  reply.code(204).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html */
export async function listBuckets({ services, caller, target, reply }: S3Call): Promise<void> {
  if (!caller) throw new S3Error('AccessDenied');
  const q = target.query;
  const rawMax = q.get('max-buckets');
  if (rawMax !== null && !(/^\d{1,5}$/.test(rawMax) && Number(rawMax) >= 1 && Number(rawMax) <= MAX_BUCKETS)) {
    throw new S3Error('InvalidArgument', `max-buckets must be an integer between 1 and ${MAX_BUCKETS}`, { ArgumentName: 'max-buckets', ArgumentValue: rawMax });
  }
  const limit = rawMax === null ? undefined : Number(rawMax);
  const token = q.get('continuation-token');
  const prefix = q.get('prefix') ?? undefined;
  const page = { after: token === null ? undefined : fromToken(token), prefix, region: q.get('bucket-region') ?? undefined };
  // One more than the page, to know whether another follows.
  const found = await services.meta.listBuckets(caller.owner, { ...page, limit: limit && limit + 1 });
  const buckets = limit === undefined ? found : found.slice(0, limit);
  const more = found.length > buckets.length;
  reply.type('application/xml').send(
    xmlDocument('ListAllMyBucketsResult', {
      Owner: { ID: caller.owner, DisplayName: caller.displayName },
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt), BucketRegion: b.region })) },
      ...(more ? { ContinuationToken: Buffer.from(buckets[buckets.length - 1].name).toString('base64url') } : {}),
      ...(prefix !== undefined ? { Prefix: prefix } : {}),
    }),
  );
}

/** ListBuckets pages at most this many (S3's own limit). */
const MAX_BUCKETS = 10_000;

/** A continuation token names the last bucket of the page before; one that does not decode to
 * a bucket name is refused as S3 refuses a token it did not issue. */
function fromToken(token: string): string {
  const name = Buffer.from(token, 'base64url').toString('utf8');
  if (!isValidBucketName(name)) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token', ArgumentValue: token });
  return name;
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html
 * us-east-1 is reported as an empty LocationConstraint, as S3 does. */
export async function getBucketLocation({ bucket, services, target, caller, reply }: BucketCall): Promise<void> {
  const region = bucket.region === 'us-east-1' ? '' : bucket.region;
  reply.type('application/xml').send(xmlDocument('LocationConstraint', { '#text': region }));
}
