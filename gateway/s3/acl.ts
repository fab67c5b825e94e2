import type { S3Call } from '../services';
import { S3Error } from '../protocol/errors';
import { checkKey } from './addressing';
import { parseVersionId, readVersion, refuseDeleteMarker, versionIdHeader } from './versioning';
import { parseXml, xmlDocument } from '../protocol/xml';
import { readSmallBody } from './small-body';
import { single } from '../protocol/headers';

/**
 * ACLs, minimally: rfs grants access by ownership (and later by policy), so every bucket and
 * object answers the one ACL that describes that, its owner with FULL_CONTROL. Setting that
 * same ACL (canned `private`, or a policy granting only the owner FULL_CONTROL) is accepted
 * as the no-op it is; any other ACL would be a promise rfs does not keep, so it is
 * NotImplemented. Tools such as s3cmd set `private` routinely.
 */
const ACL_BODY_LIMIT = 64 * 1024;
const GRANT_HEADERS = ['x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control'];

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html */
export async function getBucketAcl({ services, target, caller, reply }: S3Call): Promise<void> {
  const bucket = await services.buckets.require(target.bucket, caller);
  reply.type('application/xml').send(ownerOnlyPolicy(bucket.owner, displayName(bucket.owner, caller)));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html */
export async function putBucketAcl(call: S3Call): Promise<void> {
  const bucket = await call.services.buckets.require(call.target.bucket, call.caller);
  await acceptOwnerOnlyAcl(call, bucket.owner);
  call.reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html */
export async function getObjectAcl({ services, target, caller, reply }: S3Call): Promise<void> {
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  const bucket = await services.buckets.require(target.bucket, caller);
  const object = await readVersion(services.meta, target.bucket, target.key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, 'GET');
  reply
    .headers(versionIdHeader(bucket, object.versionId))
    .type('application/xml')
    .send(ownerOnlyPolicy(object.owner, displayName(object.owner, caller)));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html */
export async function putObjectAcl(call: S3Call): Promise<void> {
  const { services, target, caller, reply } = call;
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  const bucket = await services.buckets.require(target.bucket, caller);
  const object = await readVersion(services.meta, target.bucket, target.key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, 'PUT');
  await acceptOwnerOnlyAcl(call, object.owner);
  reply.headers(versionIdHeader(bucket, object.versionId)).send();
}

function displayName(owner: string, caller: S3Call['caller']): string {
  return owner === caller.owner ? caller.displayName : owner;
}

function ownerOnlyPolicy(owner: string, name: string): string {
  return xmlDocument('AccessControlPolicy', {
    Owner: { ID: owner, DisplayName: name },
    AccessControlList: {
      Grant: {
        Grantee: { '@xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@xsi:type': 'CanonicalUser', ID: owner, DisplayName: name },
        Permission: 'FULL_CONTROL',
      },
    },
  });
}

/** Accepts the owner-only ACL in any of its forms; refuses everything else. */
async function acceptOwnerOnlyAcl(call: S3Call, owner: string): Promise<void> {
  const headers = call.request.headers;
  const canned = single(headers['x-amz-acl']);
  const grants = GRANT_HEADERS.filter((h) => headers[h] !== undefined);
  if (canned !== undefined && grants.length > 0) throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (grants.length > 0) throw notImplemented();
  const body = await readSmallBody(call, { limit: ACL_BODY_LIMIT, checked: true });
  if (canned !== undefined) {
    if (canned !== 'private') throw notImplemented();
    if (body.length > 0) checkOwnerOnlyPolicy(body, owner);
    return;
  }
  if (body.length === 0) throw new S3Error('MalformedACLError');
  checkOwnerOnlyPolicy(body, owner);
}

function notImplemented(): S3Error {
  return new S3Error('NotImplemented', 'rfs supports only the private ACL: the owner with FULL_CONTROL.');
}

/** `<AccessControlPolicy>` whose grants all give the owner FULL_CONTROL (at least one). */
function checkOwnerOnlyPolicy(body: Buffer, owner: string): void {
  let policy: unknown;
  try {
    policy = parseXml(body.toString('utf8')).AccessControlPolicy;
  } catch {
    throw new S3Error('MalformedACLError');
  }
  if (typeof policy !== 'object' || policy === null) throw new S3Error('MalformedACLError');
  const { Owner: ownerElement, AccessControlList: list } = policy as { Owner?: unknown; AccessControlList?: unknown };
  const ownerId = typeof ownerElement === 'object' && ownerElement !== null ? (ownerElement as { ID?: unknown }).ID : undefined;
  if (ownerId !== undefined && ownerId !== owner) throw notImplemented();
  const grant = typeof list === 'object' && list !== null ? (list as { Grant?: unknown }).Grant : undefined;
  const grantList = grant === undefined ? [] : Array.isArray(grant) ? grant : [grant];
  if (grantList.length === 0) throw notImplemented();
  for (const g of grantList) {
    if (typeof g !== 'object' || g === null) throw new S3Error('MalformedACLError');
    const { Grantee: grantee, Permission: permission } = g as { Grantee?: unknown; Permission?: unknown };
    if (typeof grantee !== 'object' || grantee === null || typeof permission !== 'string') throw new S3Error('MalformedACLError');
    const id = (grantee as { ID?: unknown }).ID;
    if (id !== owner || permission !== 'FULL_CONTROL') throw notImplemented();
  }
}
