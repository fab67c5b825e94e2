import type { BucketCall, S3Call } from '../services';
import type { Bucket, Grant, ObjectOwnership } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { parseXml, xmlDocument } from '../protocol/xml';
import { single } from '../protocol/headers';
import { readSmallBody } from './small-body';
import { aclsDisabled, checkGrantees, refusePublicAcl } from './acl';
import { acceptedWithAclsDisabled, aclFromHeaders, cannedAclHeader, grantsOnlyOwner, isDefaultAcl, type HeaderBag } from '../iam/acl';

/**
 * S3 Object Ownership: who owns what others write to a bucket, and whether ACLs apply at all.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
 * A bucket without the setting is ObjectWriter (the writer owns, ACLs apply), as buckets made
 * before S3 changed its default are.
 */

const OWNERSHIPS: readonly ObjectOwnership[] = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'];
const OWNERSHIP_BODY_LIMIT = 16 * 1024;

const isOwnership = (value: string | undefined): value is ObjectOwnership => OWNERSHIPS.includes(value as ObjectOwnership);

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html
 * ACLs can be disabled only while the bucket's ACL grants nothing to anyone but its owner
 * (object ACLs do not matter: they stop applying). */
export async function putBucketOwnershipControls(call: BucketCall): Promise<void> {
  const { services, reply } = call;
  const ownership = parseOwnershipControls(await readSmallBody(call, { limit: OWNERSHIP_BODY_LIMIT, checked: true }));
  if (ownership === 'BucketOwnerEnforced') {
    // The ACL is read fresh: one set through another gateway a moment ago counts.
    services.buckets.forget(call.bucket.name);
    const bucket = (await services.buckets.get(call.bucket.name)) ?? call.bucket;
    if (!grantsOnlyOwner(bucket.acl, bucket.owner)) throw new S3Error('InvalidBucketAclWithObjectOwnership');
  }
  await services.buckets.update(call.bucket.name, { ownership });
  reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketOwnershipControls.html */
export async function getBucketOwnershipControls({ bucket, reply }: BucketCall): Promise<void> {
  if (!bucket.ownership) throw new S3Error('OwnershipControlsNotFoundError', undefined, { BucketName: bucket.name });
  reply.type('application/xml').send(xmlDocument('OwnershipControls', { Rule: { ObjectOwnership: bucket.ownership } }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketOwnershipControls.html */
export async function deleteBucketOwnershipControls({ bucket, services, reply }: BucketCall): Promise<void> {
  await services.buckets.update(bucket.name, { ownership: null });
  reply.code(204).send();
}

/** `<OwnershipControls><Rule><ObjectOwnership>…</ObjectOwnership></Rule></OwnershipControls>`:
 * exactly one rule with a known setting, else MalformedXML. */
function parseOwnershipControls(body: Buffer): ObjectOwnership {
  const doc = parseXml(body.toString('utf8'));
  const roots = Object.keys(doc).filter((k) => k !== '?xml');
  const controls = doc.OwnershipControls;
  if (roots.length !== 1 || typeof controls !== 'object' || controls === null) throw new S3Error('MalformedXML');
  const fields = controls as Record<string, unknown>;
  const rule = fields.Rule;
  if (Object.keys(fields).some((k) => k !== 'Rule') || typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new S3Error('MalformedXML');
  const { ObjectOwnership: ownership, ...rest } = rule as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof ownership !== 'string' || !isOwnership(ownership.trim())) throw new S3Error('MalformedXML');
  return ownership.trim() as ObjectOwnership;
}

/**
 * Owner and ACL of an object being written (PutObject, CopyObject, CreateMultipartUpload, POST
 * uploads), from the request's ACL headers and the bucket's settings:
 * - BucketOwnerEnforced: the bucket owner owns it; an ACL other than bucket-owner-full-control
 *   (or the bucket owner's FULL_CONTROL alone) is AccessControlListNotSupported.
 * - BucketOwnerPreferred: written with bucket-owner-full-control, the bucket owner owns it.
 * - otherwise the writer owns it, with the ACL asked for.
 * BlockPublicAcls refuses a public ACL. `acl` undefined is the default (the owner alone).
 * `headers`: a POST upload passes its form fields (`x-amz-acl` ← the `acl` field).
 */
export async function newObjectAcl(call: S3Call, bucket: Bucket, writer: string, headers: HeaderBag = call.request.headers): Promise<{ owner: string; acl: Grant[] | undefined }> {
  const owners = { owner: writer, bucketOwner: bucket.owner, resource: 'object' as const };
  const grants = aclFromHeaders(headers, owners);
  if (grants) await checkGrantees(call, grants, owners, 'id');
  const canned = cannedAclHeader(headers);
  if (aclsDisabled(bucket)) {
    if (grants && !acceptedWithAclsDisabled(canned, grants, bucket.owner)) throw new S3Error('AccessControlListNotSupported');
    return { owner: bucket.owner, acl: undefined };
  }
  refusePublicAcl(bucket, grants);
  const owner = bucket.ownership === 'BucketOwnerPreferred' && canned === 'bucket-owner-full-control' ? bucket.owner : writer;
  return { owner, acl: grants && !isDefaultAcl(grants, owner) ? grants : undefined };
}

/**
 * CreateBucket's access settings: the ACL headers (for the new bucket, owned by `owner`) and
 * x-amz-object-ownership. ACLs that grant anything beyond the owner's FULL_CONTROL cannot go
 * with BucketOwnerEnforced (InvalidBucketAclWithObjectOwnership); `private` can.
 */
export async function createBucketAccess(call: S3Call, owner: string): Promise<{ acl: Grant[] | undefined; ownership: ObjectOwnership | undefined }> {
  const headers = call.request.headers;
  const ownership = single(headers['x-amz-object-ownership']);
  if (ownership !== undefined && !isOwnership(ownership)) {
    throw new S3Error('InvalidArgument', `Invalid x-amz-object-ownership header: ${ownership}`, { ArgumentName: 'x-amz-object-ownership' });
  }
  const owners = { owner, bucketOwner: owner, resource: 'bucket' as const };
  const grants = aclFromHeaders(headers, owners);
  if (grants) await checkGrantees(call, grants, owners, 'id');
  if (ownership === 'BucketOwnerEnforced' && grants && !acceptedWithAclsDisabled(cannedAclHeader(headers), grants, owner)) {
    throw new S3Error('InvalidBucketAclWithObjectOwnership');
  }
  return { acl: grants && !isDefaultAcl(grants, owner) && ownership !== 'BucketOwnerEnforced' ? grants : undefined, ownership };
}
