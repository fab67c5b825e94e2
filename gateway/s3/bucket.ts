import type { BucketCall, S3Call } from '../services';
import { S3Error } from '../protocol/errors';
import { MetadataError } from '../../metadata/store';
import { writerOf } from '../iam/authorize';
import { createBucketAccess } from './ownership';
import { isValidBucketName } from './addressing';
import { isoDate, parseXml, xmlDocument } from '../protocol/xml';
import { readSmallBody } from './small-body';

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
  try {
    await services.meta.createBucket({ name, owner, region, acl, ownership });
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
export async function listBuckets({ services, caller, reply }: S3Call): Promise<void> {
  if (!caller) throw new S3Error('AccessDenied');
  const buckets = await services.meta.listBuckets(caller.owner);
  reply.type('application/xml').send(
    xmlDocument('ListAllMyBucketsResult', {
      Owner: { ID: caller.owner, DisplayName: caller.displayName },
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt), BucketRegion: b.region })) },
    }),
  );
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html
 * us-east-1 is reported as an empty LocationConstraint, as S3 does. */
export async function getBucketLocation({ bucket, services, target, caller, reply }: BucketCall): Promise<void> {
  const region = bucket.region === 'us-east-1' ? '' : bucket.region;
  reply.type('application/xml').send(xmlDocument('LocationConstraint', { '#text': region }));
}
