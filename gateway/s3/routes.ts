import type { BucketCall } from '../services';
import type { Target } from './addressing';
import { S3Error } from '../protocol/errors';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './bucket';
import { deleteObject, getObject, headObject, putObject } from './object';
import { listObjects, listObjectsV2 } from './list';
import {
  abortMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart, uploadPartCopy,
} from './multipart';
import { completeMultipartUpload } from './multipart-complete';
import { copyObject } from './copy';
import { deleteObjects } from './delete-objects';
import {
  deleteBucketTagging, deleteObjectTagging, getBucketTagging, getObjectTagging, putBucketTagging, putObjectTagging,
} from './tagging';
import { getObjectAttributes } from './attributes';
import { getBucketAcl, getObjectAcl, putBucketAcl, putObjectAcl } from './acl';
import { getBucketVersioning, listObjectVersions, putBucketVersioning } from './versioning';
import { deleteBucketCors, getBucketCors, putBucketCors } from './cors';
import { postObject } from './post-object';
import { preflightRequest } from './cors';
import { stsRequest } from '../sts/endpoint';
import { deleteBucketPolicy, getBucketPolicy, getBucketPolicyStatus, putBucketPolicy } from './bucket-policy';
import { deletePublicAccessBlock, getPublicAccessBlock, putPublicAccessBlock } from './public-access-block';
import { deleteBucketOwnershipControls, getBucketOwnershipControls, putBucketOwnershipControls } from './ownership';
import { deleteBucketLifecycle, getBucketLifecycle, putBucketLifecycle } from './lifecycle';
import {
  getObjectLegalHold, getObjectLockConfiguration, getObjectRetention, putObjectLegalHold, putObjectLockConfiguration, putObjectRetention,
} from './object-lock';
import { deleteBucketEncryption, getBucketEncryption, isSseHeader, putBucketEncryption, sseNotImplemented } from './encryption';

type Scope = 'service' | 'bucket' | 'object';

interface Route {
  method: string;
  scope: Scope;
  /** A query parameter that must be present (`name`) or have a value (`name=value`). */
  query?: string;
  /** A header that must be present. */
  header?: string;
  action: string;
  /** The IAM action a caller needs (on the bucket, or the object for object rows); absent:
   * none (a CORS preflight, which the bucket's CORS rules decide). */
  iam?: string;
  /** The IAM action instead when the request names a version (`?versionId=`). */
  versionIam?: string;
  /** The keys are in the body: the handler authorizes each (DeleteObjects, POST uploads). */
  perKey?: true;
  /** Signed over its body without x-amz-content-sha256 (STS's form): the handler reads the
   * body, then authenticates and authorizes the call. */
  bodySigned?: true;
  /** Absent: recognised, not built yet → 501 NotImplemented. */
  handler?: (call: BucketCall) => Promise<void>;
}

/**
 * Every S3 action rfs recognises, one row each, most specific first: the first row whose
 * method, scope, query and header match names the action, and the permission it needs
 * (server.ts authorizes every request with it, gateway/iam/authorize.ts). Rows without a
 * handler are actions of later issues, answered 501 NotImplemented rather than mistaken for another.
 */
export const ROUTES: readonly Route[] = [
  { method: 'OPTIONS', scope: 'service', action: 'PreflightRequest', handler: preflightRequest },
  { method: 'OPTIONS', scope: 'bucket', action: 'PreflightRequest', handler: preflightRequest },
  { method: 'OPTIONS', scope: 'object', action: 'PreflightRequest', handler: preflightRequest },

  { method: 'POST', scope: 'service', action: 'STS', bodySigned: true, handler: stsRequest },
  { method: 'GET', scope: 'service', action: 'ListBuckets', iam: 's3:ListAllMyBuckets', handler: listBuckets },

  { method: 'GET', scope: 'bucket', query: 'location', action: 'GetBucketLocation', iam: 's3:GetBucketLocation', handler: getBucketLocation },
  { method: 'GET', scope: 'bucket', query: 'versioning', action: 'GetBucketVersioning', iam: 's3:GetBucketVersioning', handler: getBucketVersioning },
  { method: 'PUT', scope: 'bucket', query: 'versioning', action: 'PutBucketVersioning', iam: 's3:PutBucketVersioning', handler: putBucketVersioning },
  { method: 'GET', scope: 'bucket', query: 'cors', action: 'GetBucketCors', iam: 's3:GetBucketCORS', handler: getBucketCors },
  { method: 'PUT', scope: 'bucket', query: 'cors', action: 'PutBucketCors', iam: 's3:PutBucketCORS', handler: putBucketCors },
  { method: 'DELETE', scope: 'bucket', query: 'cors', action: 'DeleteBucketCors', iam: 's3:PutBucketCORS', handler: deleteBucketCors },
  { method: 'GET', scope: 'bucket', query: 'tagging', action: 'GetBucketTagging', iam: 's3:GetBucketTagging', handler: getBucketTagging },
  { method: 'PUT', scope: 'bucket', query: 'tagging', action: 'PutBucketTagging', iam: 's3:PutBucketTagging', handler: putBucketTagging },
  { method: 'DELETE', scope: 'bucket', query: 'tagging', action: 'DeleteBucketTagging', iam: 's3:PutBucketTagging', handler: deleteBucketTagging },
  { method: 'GET', scope: 'bucket', query: 'acl', action: 'GetBucketAcl', iam: 's3:GetBucketAcl', handler: getBucketAcl },
  { method: 'PUT', scope: 'bucket', query: 'acl', action: 'PutBucketAcl', iam: 's3:PutBucketAcl', handler: putBucketAcl },
  { method: 'GET', scope: 'bucket', query: 'policyStatus', action: 'GetBucketPolicyStatus', iam: 's3:GetBucketPolicyStatus', handler: getBucketPolicyStatus },
  { method: 'GET', scope: 'bucket', query: 'policy', action: 'GetBucketPolicy', iam: 's3:GetBucketPolicy', handler: getBucketPolicy },
  { method: 'PUT', scope: 'bucket', query: 'policy', action: 'PutBucketPolicy', iam: 's3:PutBucketPolicy', handler: putBucketPolicy },
  { method: 'DELETE', scope: 'bucket', query: 'policy', action: 'DeleteBucketPolicy', iam: 's3:DeleteBucketPolicy', handler: deleteBucketPolicy },
  { method: 'GET', scope: 'bucket', query: 'publicAccessBlock', action: 'GetPublicAccessBlock', iam: 's3:GetBucketPublicAccessBlock', handler: getPublicAccessBlock },
  { method: 'PUT', scope: 'bucket', query: 'publicAccessBlock', action: 'PutPublicAccessBlock', iam: 's3:PutBucketPublicAccessBlock', handler: putPublicAccessBlock },
  { method: 'DELETE', scope: 'bucket', query: 'publicAccessBlock', action: 'DeletePublicAccessBlock', iam: 's3:PutBucketPublicAccessBlock', handler: deletePublicAccessBlock },
  { method: 'GET', scope: 'bucket', query: 'ownershipControls', action: 'GetBucketOwnershipControls', iam: 's3:GetBucketOwnershipControls', handler: getBucketOwnershipControls },
  { method: 'PUT', scope: 'bucket', query: 'ownershipControls', action: 'PutBucketOwnershipControls', iam: 's3:PutBucketOwnershipControls', handler: putBucketOwnershipControls },
  { method: 'DELETE', scope: 'bucket', query: 'ownershipControls', action: 'DeleteBucketOwnershipControls', iam: 's3:PutBucketOwnershipControls', handler: deleteBucketOwnershipControls },
  { method: 'GET', scope: 'bucket', query: 'lifecycle', action: 'GetBucketLifecycleConfiguration', iam: 's3:GetLifecycleConfiguration', handler: getBucketLifecycle },
  { method: 'PUT', scope: 'bucket', query: 'lifecycle', action: 'PutBucketLifecycleConfiguration', iam: 's3:PutLifecycleConfiguration', handler: putBucketLifecycle },
  { method: 'DELETE', scope: 'bucket', query: 'lifecycle', action: 'DeleteBucketLifecycle', iam: 's3:PutLifecycleConfiguration', handler: deleteBucketLifecycle },
  { method: 'GET', scope: 'bucket', query: 'object-lock', action: 'GetObjectLockConfiguration', iam: 's3:GetBucketObjectLockConfiguration', handler: getObjectLockConfiguration },
  { method: 'PUT', scope: 'bucket', query: 'object-lock', action: 'PutObjectLockConfiguration', iam: 's3:PutBucketObjectLockConfiguration', handler: putObjectLockConfiguration },
  { method: 'GET', scope: 'bucket', query: 'encryption', action: 'GetBucketEncryption', iam: 's3:GetEncryptionConfiguration', handler: getBucketEncryption },
  { method: 'PUT', scope: 'bucket', query: 'encryption', action: 'PutBucketEncryption', iam: 's3:PutEncryptionConfiguration', handler: putBucketEncryption },
  { method: 'DELETE', scope: 'bucket', query: 'encryption', action: 'DeleteBucketEncryption', iam: 's3:PutEncryptionConfiguration', handler: deleteBucketEncryption },
  { method: 'GET', scope: 'bucket', query: 'uploads', action: 'ListMultipartUploads', iam: 's3:ListBucketMultipartUploads', handler: listMultipartUploads },
  { method: 'GET', scope: 'bucket', query: 'versions', action: 'ListObjectVersions', iam: 's3:ListBucketVersions', handler: listObjectVersions },
  { method: 'GET', scope: 'bucket', query: 'list-type=2', action: 'ListObjectsV2', iam: 's3:ListBucket', handler: listObjectsV2 },
  { method: 'GET', scope: 'bucket', action: 'ListObjects', iam: 's3:ListBucket', handler: listObjects },
  { method: 'PUT', scope: 'bucket', action: 'CreateBucket', iam: 's3:CreateBucket', handler: createBucket },
  { method: 'HEAD', scope: 'bucket', action: 'HeadBucket', iam: 's3:ListBucket', handler: headBucket },
  { method: 'DELETE', scope: 'bucket', action: 'DeleteBucket', iam: 's3:DeleteBucket', handler: deleteBucket },
  { method: 'POST', scope: 'bucket', query: 'delete', action: 'DeleteObjects', iam: 's3:DeleteObject', perKey: true, handler: deleteObjects },
  { method: 'POST', scope: 'bucket', action: 'PostObject', iam: 's3:PutObject', perKey: true, handler: postObject },

  { method: 'GET', scope: 'object', query: 'tagging', action: 'GetObjectTagging', iam: 's3:GetObjectTagging', versionIam: 's3:GetObjectVersionTagging', handler: getObjectTagging },
  { method: 'PUT', scope: 'object', query: 'tagging', action: 'PutObjectTagging', iam: 's3:PutObjectTagging', versionIam: 's3:PutObjectVersionTagging', handler: putObjectTagging },
  { method: 'DELETE', scope: 'object', query: 'tagging', action: 'DeleteObjectTagging', iam: 's3:DeleteObjectTagging', versionIam: 's3:DeleteObjectVersionTagging', handler: deleteObjectTagging },
  { method: 'GET', scope: 'object', query: 'acl', action: 'GetObjectAcl', iam: 's3:GetObjectAcl', versionIam: 's3:GetObjectVersionAcl', handler: getObjectAcl },
  { method: 'PUT', scope: 'object', query: 'acl', action: 'PutObjectAcl', iam: 's3:PutObjectAcl', versionIam: 's3:PutObjectVersionAcl', handler: putObjectAcl },
  { method: 'GET', scope: 'object', query: 'retention', action: 'GetObjectRetention', iam: 's3:GetObjectRetention', handler: getObjectRetention },
  { method: 'PUT', scope: 'object', query: 'retention', action: 'PutObjectRetention', iam: 's3:PutObjectRetention', handler: putObjectRetention },
  { method: 'GET', scope: 'object', query: 'legal-hold', action: 'GetObjectLegalHold', iam: 's3:GetObjectLegalHold', handler: getObjectLegalHold },
  { method: 'PUT', scope: 'object', query: 'legal-hold', action: 'PutObjectLegalHold', iam: 's3:PutObjectLegalHold', handler: putObjectLegalHold },
  { method: 'GET', scope: 'object', query: 'attributes', action: 'GetObjectAttributes', iam: 's3:GetObjectAttributes', versionIam: 's3:GetObjectVersionAttributes', handler: getObjectAttributes },
  { method: 'GET', scope: 'object', query: 'uploadId', action: 'ListParts', iam: 's3:ListMultipartUploadParts', handler: listParts },
  { method: 'PUT', scope: 'object', query: 'uploadId', header: 'x-amz-copy-source', action: 'UploadPartCopy', iam: 's3:PutObject', handler: uploadPartCopy },
  { method: 'PUT', scope: 'object', query: 'uploadId', action: 'UploadPart', iam: 's3:PutObject', handler: uploadPart },
  { method: 'POST', scope: 'object', query: 'uploads', action: 'CreateMultipartUpload', iam: 's3:PutObject', handler: createMultipartUpload },
  { method: 'POST', scope: 'object', query: 'uploadId', action: 'CompleteMultipartUpload', iam: 's3:PutObject', handler: completeMultipartUpload },
  { method: 'DELETE', scope: 'object', query: 'uploadId', action: 'AbortMultipartUpload', iam: 's3:AbortMultipartUpload', handler: abortMultipartUpload },
  { method: 'PUT', scope: 'object', header: 'x-amz-copy-source', action: 'CopyObject', iam: 's3:PutObject', handler: copyObject },
  { method: 'PUT', scope: 'object', action: 'PutObject', iam: 's3:PutObject', handler: putObject },
  { method: 'GET', scope: 'object', action: 'GetObject', iam: 's3:GetObject', versionIam: 's3:GetObjectVersion', handler: getObject },
  { method: 'HEAD', scope: 'object', action: 'HeadObject', iam: 's3:GetObject', versionIam: 's3:GetObjectVersion', handler: headObject },
  { method: 'DELETE', scope: 'object', action: 'DeleteObject', iam: 's3:DeleteObject', versionIam: 's3:DeleteObjectVersion', handler: deleteObject },
];

/** Subresources S3 has: a request naming one that no row above handles is not built yet. */
const SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select',
  'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions', 'website', 'session', 'metadataTable',
]);

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS']);

export interface Resolved {
  action: string;
  /** The IAM action to authorize, the version variant already chosen; undefined: none. */
  iam: string | undefined;
  perKey: boolean;
  bodySigned: boolean;
  handler: (call: BucketCall) => Promise<void>;
}

export function resolveRoute(method: string, target: Target, headers: Record<string, unknown>): Resolved {
  if (!METHODS.has(method)) throw new S3Error('MethodNotAllowed', undefined, { Method: method, ResourceType: scopeOf(target).toUpperCase() });
  const scope = scopeOf(target);
  const q = target.query;
  const route = ROUTES.find(
    (r) =>
      r.method === method &&
      r.scope === scope &&
      (r.query === undefined || queryMatches(q, r.query)) &&
      (r.header === undefined || headers[r.header] !== undefined),
  );
  const named = route?.query?.split('=')[0];
  // A preflight asks about a later request, whatever that request's subresource.
  const unhandled = route?.method === 'OPTIONS' ? undefined : [...q.keys()].find((k) => SUBRESOURCES.has(k) && k !== named);
  if (!route || unhandled) {
    if (!route && !unhandled) throw new S3Error('MethodNotAllowed', undefined, { Method: method, ResourceType: scope.toUpperCase() });
    throw new S3Error('NotImplemented', `${route?.action ?? method} with ?${unhandled ?? ''} is not implemented yet.`);
  }
  if (!route.handler) throw new S3Error('NotImplemented', `${route.action} is not implemented yet.`);
  if (route.method !== 'OPTIONS' && Object.keys(headers).some(isSseHeader)) throw sseNotImplemented();
  const iam = q.has('versionId') && route.versionIam ? route.versionIam : route.iam;
  return { action: route.action, iam, perKey: route.perKey === true, bodySigned: route.bodySigned === true, handler: route.handler };
}

function scopeOf(target: Target): Scope {
  if (target.bucket === '') return 'service';
  return target.key === '' ? 'bucket' : 'object';
}

function queryMatches(q: URLSearchParams, spec: string): boolean {
  const eq = spec.indexOf('=');
  return eq < 0 ? q.has(spec) : q.get(spec.slice(0, eq)) === spec.slice(eq + 1);
}
