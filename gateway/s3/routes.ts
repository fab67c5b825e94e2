import type { S3Call } from '../services';
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

type Scope = 'service' | 'bucket' | 'object';

interface Route {
  method: string;
  scope: Scope;
  /** A query parameter that must be present (`name`) or have a value (`name=value`). */
  query?: string;
  /** A header that must be present. */
  header?: string;
  action: string;
  /** Absent: recognised, not built yet → 501 NotImplemented. */
  handler?: (call: S3Call) => Promise<void>;
}

/**
 * Every S3 action rfs recognises, one row each, most specific first: the first row whose
 * method, scope, query and header match names the action. Rows without a handler are
 * actions of later issues, answered 501 NotImplemented rather than mistaken for another.
 */
export const ROUTES: readonly Route[] = [
  { method: 'GET', scope: 'service', action: 'ListBuckets', handler: listBuckets },

  { method: 'GET', scope: 'bucket', query: 'location', action: 'GetBucketLocation', handler: getBucketLocation },
  { method: 'GET', scope: 'bucket', query: 'versioning', action: 'GetBucketVersioning', handler: getBucketVersioning },
  { method: 'PUT', scope: 'bucket', query: 'versioning', action: 'PutBucketVersioning', handler: putBucketVersioning },
  { method: 'GET', scope: 'bucket', query: 'cors', action: 'GetBucketCors', handler: getBucketCors },
  { method: 'PUT', scope: 'bucket', query: 'cors', action: 'PutBucketCors', handler: putBucketCors },
  { method: 'DELETE', scope: 'bucket', query: 'cors', action: 'DeleteBucketCors', handler: deleteBucketCors },
  { method: 'GET', scope: 'bucket', query: 'tagging', action: 'GetBucketTagging', handler: getBucketTagging },
  { method: 'PUT', scope: 'bucket', query: 'tagging', action: 'PutBucketTagging', handler: putBucketTagging },
  { method: 'DELETE', scope: 'bucket', query: 'tagging', action: 'DeleteBucketTagging', handler: deleteBucketTagging },
  { method: 'GET', scope: 'bucket', query: 'acl', action: 'GetBucketAcl', handler: getBucketAcl },
  { method: 'PUT', scope: 'bucket', query: 'acl', action: 'PutBucketAcl', handler: putBucketAcl },
  { method: 'GET', scope: 'bucket', query: 'uploads', action: 'ListMultipartUploads', handler: listMultipartUploads },
  { method: 'GET', scope: 'bucket', query: 'versions', action: 'ListObjectVersions', handler: listObjectVersions },
  { method: 'GET', scope: 'bucket', query: 'list-type=2', action: 'ListObjectsV2', handler: listObjectsV2 },
  { method: 'GET', scope: 'bucket', action: 'ListObjects', handler: listObjects },
  { method: 'PUT', scope: 'bucket', action: 'CreateBucket', handler: createBucket },
  { method: 'HEAD', scope: 'bucket', action: 'HeadBucket', handler: headBucket },
  { method: 'DELETE', scope: 'bucket', action: 'DeleteBucket', handler: deleteBucket },
  { method: 'POST', scope: 'bucket', query: 'delete', action: 'DeleteObjects', handler: deleteObjects },
  { method: 'POST', scope: 'bucket', action: 'PostObject', handler: postObject },

  { method: 'GET', scope: 'object', query: 'tagging', action: 'GetObjectTagging', handler: getObjectTagging },
  { method: 'PUT', scope: 'object', query: 'tagging', action: 'PutObjectTagging', handler: putObjectTagging },
  { method: 'DELETE', scope: 'object', query: 'tagging', action: 'DeleteObjectTagging', handler: deleteObjectTagging },
  { method: 'GET', scope: 'object', query: 'acl', action: 'GetObjectAcl', handler: getObjectAcl },
  { method: 'PUT', scope: 'object', query: 'acl', action: 'PutObjectAcl', handler: putObjectAcl },
  { method: 'GET', scope: 'object', query: 'attributes', action: 'GetObjectAttributes', handler: getObjectAttributes },
  { method: 'GET', scope: 'object', query: 'uploadId', action: 'ListParts', handler: listParts },
  { method: 'PUT', scope: 'object', query: 'uploadId', header: 'x-amz-copy-source', action: 'UploadPartCopy', handler: uploadPartCopy },
  { method: 'PUT', scope: 'object', query: 'uploadId', action: 'UploadPart', handler: uploadPart },
  { method: 'POST', scope: 'object', query: 'uploads', action: 'CreateMultipartUpload', handler: createMultipartUpload },
  { method: 'POST', scope: 'object', query: 'uploadId', action: 'CompleteMultipartUpload', handler: completeMultipartUpload },
  { method: 'DELETE', scope: 'object', query: 'uploadId', action: 'AbortMultipartUpload', handler: abortMultipartUpload },
  { method: 'PUT', scope: 'object', header: 'x-amz-copy-source', action: 'CopyObject', handler: copyObject },
  { method: 'PUT', scope: 'object', action: 'PutObject', handler: putObject },
  { method: 'GET', scope: 'object', action: 'GetObject', handler: getObject },
  { method: 'HEAD', scope: 'object', action: 'HeadObject', handler: headObject },
  { method: 'DELETE', scope: 'object', action: 'DeleteObject', handler: deleteObject },
];

/** Subresources S3 has: a request naming one that no row above handles is not built yet. */
const SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select',
  'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions', 'website', 'session', 'metadataTable',
]);

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);

export interface Resolved {
  action: string;
  handler: (call: S3Call) => Promise<void>;
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
  const unhandled = [...q.keys()].find((k) => SUBRESOURCES.has(k) && k !== named);
  if (!route || unhandled) {
    if (!route && !unhandled) throw new S3Error('MethodNotAllowed', undefined, { Method: method, ResourceType: scope.toUpperCase() });
    throw new S3Error('NotImplemented', `${route?.action ?? method} with ?${unhandled ?? ''} is not implemented yet.`);
  }
  if (!route.handler) throw new S3Error('NotImplemented', `${route.action} is not implemented yet.`);
  return { action: route.action, handler: route.handler };
}

function scopeOf(target: Target): Scope {
  if (target.bucket === '') return 'service';
  return target.key === '' ? 'bucket' : 'object';
}

function queryMatches(q: URLSearchParams, spec: string): boolean {
  const eq = spec.indexOf('=');
  return eq < 0 ? q.has(spec) : q.get(spec.slice(0, eq)) === spec.slice(eq + 1);
}
