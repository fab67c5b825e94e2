import type { BucketCall, S3Call } from '../services';
import type { Bucket, Grant } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { checkKey } from './addressing';
import { parseVersionId, readVersion, refuseDeleteMarker, versionIdHeader, versionWriteError } from './versioning';
import { readSmallBody } from './small-body';
import {
  acceptedWithAclsDisabled, aclFromHeaders, aclXml, cannedAclHeader, EC2_BUNDLE_READER, grantedIds, isDefaultAcl, isPublicAcl,
  ownerFullControl, parseAclXml, type AclOwners,
} from '../iam/acl';

/**
 * Bucket and object ACLs. authorize() has already decided the caller may read or write the
 * ACL (an ACL's READ_ACP/WRITE_ACP, a policy, or owning); these handlers only speak S3: which
 * of the three forms an ACL came in, the grants S3 stores for it, and what the bucket's
 * ownership controls and public access block let through.
 */

/** An AccessControlPolicy of 100 grants is well below this. */
const ACL_BODY_LIMIT = 64 * 1024;

/** BucketOwnerEnforced: ACLs are disabled, the bucket owner owns every object. */
export function aclsDisabled(bucket: Bucket): boolean {
  return bucket.ownership === 'BucketOwnerEnforced';
}

/** BlockPublicAcls refuses any new ACL that grants to AllUsers or AuthenticatedUsers. */
export function refusePublicAcl(bucket: Bucket, grants: readonly Grant[] | undefined): void {
  if (bucket.publicAccessBlock?.blockPublicAcls && isPublicAcl(grants)) throw new S3Error('AccessDenied');
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html
 * With ACLs disabled S3 shows the bucket owner's FULL_CONTROL, whatever was stored before. */
export async function getBucketAcl(call: BucketCall): Promise<void> {
  const { bucket } = call;
  const grants = aclsDisabled(bucket) ? ownerFullControl(bucket.owner) : bucket.acl ?? ownerFullControl(bucket.owner);
  await sendAcl(call, bucket.owner, grants);
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html */
export async function putBucketAcl(call: BucketCall): Promise<void> {
  const { bucket, services, reply } = call;
  const { canned, grants } = await requestedAcl(call, { owner: bucket.owner, bucketOwner: bucket.owner, resource: 'bucket' });
  if (aclsDisabled(bucket)) {
    // The ACLs S3 still accepts change nothing, so there is nothing to store.
    if (!acceptedWithAclsDisabled(canned, grants, bucket.owner)) throw new S3Error('AccessControlListNotSupported');
    reply.send();
    return;
  }
  refusePublicAcl(bucket, grants);
  await services.buckets.update(bucket.name, { acl: isDefaultAcl(grants, bucket.owner) ? null : grants });
  reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html
 * With ACLs disabled the bucket owner owns every object, with FULL_CONTROL. */
export async function getObjectAcl(call: BucketCall): Promise<void> {
  const { bucket, services, target, reply } = call;
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  const object = await readVersion(services.meta, bucket.name, target.key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, 'GET');
  const owner = aclsDisabled(bucket) ? bucket.owner : object.owner;
  const grants = aclsDisabled(bucket) ? ownerFullControl(owner) : object.acl ?? ownerFullControl(owner);
  reply.headers(versionIdHeader(bucket, object.versionId));
  await sendAcl(call, owner, grants);
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html
 * The object is read first: a canned ACL's grants name its owner. */
export async function putObjectAcl(call: BucketCall): Promise<void> {
  const { bucket, services, target, reply } = call;
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  const object = await readVersion(services.meta, bucket.name, target.key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, 'PUT');
  const owner = aclsDisabled(bucket) ? bucket.owner : object.owner;
  const { canned, grants } = await requestedAcl(call, { owner, bucketOwner: bucket.owner, resource: 'object' });
  if (aclsDisabled(bucket)) {
    if (!acceptedWithAclsDisabled(canned, grants, bucket.owner)) throw new S3Error('AccessControlListNotSupported');
    reply.headers(versionIdHeader(bucket, object.versionId)).send();
    return;
  }
  refusePublicAcl(bucket, grants);
  const stored = await storeObjectAcl(call, versionId, grants);
  reply.headers(versionIdHeader(bucket, stored)).send();
}

/**
 * The ACL a PutBucketAcl/PutObjectAcl request carries, in exactly one of its three forms: the
 * x-amz-acl header, x-amz-grant-* headers, or an AccessControlPolicy body. Headers with a body
 * is refused (S3's UnexpectedContent), none of them MissingSecurityHeader, as S3 answers.
 */
async function requestedAcl(call: BucketCall, owners: AclOwners): Promise<{ canned: string | undefined; grants: Grant[] }> {
  const headers = call.request.headers;
  const fromHeaders = aclFromHeaders(headers, owners);
  const body = await readSmallBody(call, { limit: ACL_BODY_LIMIT, checked: true });
  if (fromHeaders && body.length > 0) {
    // S3's code is UnexpectedContent, which the error table does not have yet.
    throw new S3Error('InvalidRequest', 'This request does not support content.');
  }
  if (!fromHeaders && body.length === 0) {
    throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', { MissingHeaderName: 'x-amz-acl' });
  }
  const grants = fromHeaders ?? parseAclXml(body.toString('utf8'), owners.owner);
  await checkGrantees(call, grants, owners, fromHeaders ? 'id' : 'CanonicalUser/ID');
  return { canned: cannedAclHeader(headers), grants };
}

/**
 * Every canonical id an ACL grants to must name an account: the resource's owners, the
 * caller, EC2's (aws-exec-read), or an rfs user. S3 answers InvalidArgument "Invalid id"
 * otherwise; `argument` is how the id was given (`id` in a grant header, `CanonicalUser/ID` in
 * a document). For every ACL write, PutObject and CreateBucket included.
 */
export async function checkGrantees(call: S3Call, grants: readonly Grant[], owners: AclOwners, argument: 'id' | 'CanonicalUser/ID'): Promise<void> {
  const known = new Set([owners.owner, owners.bucketOwner, EC2_BUNDLE_READER, ...(call.caller ? [call.caller.owner] : [])]);
  for (const id of grantedIds(grants)) {
    if (known.has(id)) continue;
    if (!(await call.services.meta.iam.getUserById(id))) {
      throw new S3Error('InvalidArgument', 'Invalid id', { ArgumentName: argument, ArgumentValue: id });
    }
  }
}

/** Display names of canonical ids: the caller's own, else the rfs user's name (one lookup
 * each, for the handful of ids an ACL names); an id naming no user shows as itself. */
async function displayNames(call: S3Call, ids: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const id of new Set(ids)) {
    if (call.caller?.owner === id) names.set(id, call.caller.displayName);
    else if (id !== EC2_BUNDLE_READER) {
      const user = await call.services.meta.iam.getUserById(id);
      if (user) names.set(id, user.name);
    }
  }
  return names;
}

async function sendAcl(call: S3Call, owner: string, grants: readonly Grant[]): Promise<void> {
  const names = await displayNames(call, [owner, ...grantedIds(grants)]);
  call.reply.type('application/xml').send(aclXml({ id: owner, displayName: names.get(owner) ?? owner }, grants, names));
}

/** Replaces a version's ACL; returns its version id. A delete marker or a key gone meanwhile
 * gets S3's answers, as PutObjectTagging's. */
async function storeObjectAcl({ services, target }: S3Call, versionId: string | undefined, grants: Grant[]): Promise<string> {
  const { bucket, key } = target;
  try {
    return await services.meta.putObjectAcl(bucket, key, versionId, grants);
  } catch (e) {
    throw versionWriteError(e, key, versionId);
  }
}
