import { resolveRoute } from './routes';
import { resolveTarget } from './addressing';
import { S3Error } from '../protocol/errors';

/**
 * The request lines of AWS's API reference ("Request Syntax" of each action), fed to the
 * route table: each must name its action and the IAM permission AWS's "Actions, resources,
 * and condition keys for Amazon S3" lists for it.
 */
const LINES: [line: string, headers: Record<string, string>, action: string, iam: string | undefined][] = [
  ['GET /', {}, 'ListBuckets', 's3:ListAllMyBuckets'],
  ['PUT /Bucket', {}, 'CreateBucket', 's3:CreateBucket'],
  ['HEAD /Bucket', {}, 'HeadBucket', 's3:ListBucket'],
  ['DELETE /Bucket', {}, 'DeleteBucket', 's3:DeleteBucket'],
  ['GET /Bucket?location', {}, 'GetBucketLocation', 's3:GetBucketLocation'],
  ['GET /Bucket?list-type=2&prefix=a&delimiter=/', {}, 'ListObjectsV2', 's3:ListBucket'],
  ['GET /Bucket?delimiter=/&marker=m', {}, 'ListObjects', 's3:ListBucket'],
  ['GET /Bucket?versions&key-marker=k', {}, 'ListObjectVersions', 's3:ListBucketVersions'],
  ['GET /Bucket?uploads&max-uploads=5', {}, 'ListMultipartUploads', 's3:ListBucketMultipartUploads'],
  ['GET /Bucket?versioning', {}, 'GetBucketVersioning', 's3:GetBucketVersioning'],
  ['PUT /Bucket?versioning', {}, 'PutBucketVersioning', 's3:PutBucketVersioning'],
  ['GET /Bucket?cors', {}, 'GetBucketCors', 's3:GetBucketCORS'],
  ['PUT /Bucket?cors', {}, 'PutBucketCors', 's3:PutBucketCORS'],
  ['DELETE /Bucket?cors', {}, 'DeleteBucketCors', 's3:PutBucketCORS'],
  ['GET /Bucket?tagging', {}, 'GetBucketTagging', 's3:GetBucketTagging'],
  ['PUT /Bucket?tagging', {}, 'PutBucketTagging', 's3:PutBucketTagging'],
  ['DELETE /Bucket?tagging', {}, 'DeleteBucketTagging', 's3:PutBucketTagging'],
  ['GET /Bucket?lifecycle', {}, 'GetBucketLifecycleConfiguration', 's3:GetLifecycleConfiguration'],
  ['PUT /Bucket?lifecycle', {}, 'PutBucketLifecycleConfiguration', 's3:PutLifecycleConfiguration'],
  ['DELETE /Bucket?lifecycle', {}, 'DeleteBucketLifecycle', 's3:PutLifecycleConfiguration'],
  ['GET /Bucket?encryption', {}, 'GetBucketEncryption', 's3:GetEncryptionConfiguration'],
  ['PUT /Bucket?encryption', {}, 'PutBucketEncryption', 's3:PutEncryptionConfiguration'],
  ['DELETE /Bucket?encryption', {}, 'DeleteBucketEncryption', 's3:PutEncryptionConfiguration'],
  ['GET /Bucket?acl', {}, 'GetBucketAcl', 's3:GetBucketAcl'],
  ['PUT /Bucket?acl', {}, 'PutBucketAcl', 's3:PutBucketAcl'],
  ['POST /Bucket?delete', {}, 'DeleteObjects', 's3:DeleteObject'],
  ['POST /Bucket', { 'content-type': 'multipart/form-data; boundary=x' }, 'PostObject', 's3:PutObject'],
  ['PUT /Bucket/Key+', {}, 'PutObject', 's3:PutObject'],
  ['PUT /Bucket/Key+', { 'x-amz-copy-source': '/src/k' }, 'CopyObject', 's3:PutObject'],
  ['GET /Bucket/Key+', {}, 'GetObject', 's3:GetObject'],
  ['GET /Bucket/Key+?versionId=v&partNumber=1', {}, 'GetObject', 's3:GetObjectVersion'],
  ['GET /Bucket/Key+?response-content-type=text/plain', {}, 'GetObject', 's3:GetObject'],
  ['HEAD /Bucket/Key+', {}, 'HeadObject', 's3:GetObject'],
  ['HEAD /Bucket/Key+?versionId=v', {}, 'HeadObject', 's3:GetObjectVersion'],
  ['DELETE /Bucket/Key+', {}, 'DeleteObject', 's3:DeleteObject'],
  ['DELETE /Bucket/Key+?versionId=v', {}, 'DeleteObject', 's3:DeleteObjectVersion'],
  ['GET /Bucket/Key+?tagging', {}, 'GetObjectTagging', 's3:GetObjectTagging'],
  ['GET /Bucket/Key+?tagging&versionId=v', {}, 'GetObjectTagging', 's3:GetObjectVersionTagging'],
  ['PUT /Bucket/Key+?tagging', {}, 'PutObjectTagging', 's3:PutObjectTagging'],
  ['DELETE /Bucket/Key+?tagging&versionId=v', {}, 'DeleteObjectTagging', 's3:DeleteObjectVersionTagging'],
  ['GET /Bucket/Key+?acl', {}, 'GetObjectAcl', 's3:GetObjectAcl'],
  ['PUT /Bucket/Key+?acl&versionId=v', {}, 'PutObjectAcl', 's3:PutObjectVersionAcl'],
  ['GET /Bucket/Key+?attributes', {}, 'GetObjectAttributes', 's3:GetObjectAttributes'],
  ['GET /Bucket/Key+?attributes&versionId=v', {}, 'GetObjectAttributes', 's3:GetObjectVersionAttributes'],
  ['POST /Bucket/Key+?uploads', {}, 'CreateMultipartUpload', 's3:PutObject'],
  ['PUT /Bucket/Key+?partNumber=1&uploadId=u', {}, 'UploadPart', 's3:PutObject'],
  ['PUT /Bucket/Key+?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/k' }, 'UploadPartCopy', 's3:PutObject'],
  ['GET /Bucket/Key+?uploadId=u&max-parts=2', {}, 'ListParts', 's3:ListMultipartUploadParts'],
  ['POST /Bucket/Key+?uploadId=u', {}, 'CompleteMultipartUpload', 's3:PutObject'],
  ['DELETE /Bucket/Key+?uploadId=u', {}, 'AbortMultipartUpload', 's3:AbortMultipartUpload'],
  ['GET /Bucket?object-lock', {}, 'GetObjectLockConfiguration', 's3:GetBucketObjectLockConfiguration'],
  ['PUT /Bucket?object-lock', {}, 'PutObjectLockConfiguration', 's3:PutBucketObjectLockConfiguration'],
  ['GET /Bucket/Key+?retention&versionId=v', {}, 'GetObjectRetention', 's3:GetObjectRetention'],
  ['PUT /Bucket/Key+?retention', {}, 'PutObjectRetention', 's3:PutObjectRetention'],
  ['GET /Bucket/Key+?legal-hold', {}, 'GetObjectLegalHold', 's3:GetObjectLegalHold'],
  ['PUT /Bucket/Key+?legal-hold&versionId=v', {}, 'PutObjectLegalHold', 's3:PutObjectLegalHold'],
  ['GET /Bucket?policy', {}, 'GetBucketPolicy', 's3:GetBucketPolicy'],
  ['PUT /Bucket?policy', {}, 'PutBucketPolicy', 's3:PutBucketPolicy'],
  ['DELETE /Bucket?policy', {}, 'DeleteBucketPolicy', 's3:DeleteBucketPolicy'],
  ['GET /Bucket?policyStatus', {}, 'GetBucketPolicyStatus', 's3:GetBucketPolicyStatus'],
  ['GET /Bucket?publicAccessBlock', {}, 'GetPublicAccessBlock', 's3:GetBucketPublicAccessBlock'],
  ['PUT /Bucket?publicAccessBlock', {}, 'PutPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
  ['DELETE /Bucket?publicAccessBlock', {}, 'DeletePublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
  ['GET /Bucket?ownershipControls', {}, 'GetBucketOwnershipControls', 's3:GetBucketOwnershipControls'],
  ['PUT /Bucket?ownershipControls', {}, 'PutBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
  ['DELETE /Bucket?ownershipControls', {}, 'DeleteBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
  ['POST /', { 'content-type': 'application/x-www-form-urlencoded' }, 'STS', undefined],
  ['OPTIONS /Bucket/Key+', { origin: 'https://a.example' }, 'PreflightRequest', undefined],
  ['OPTIONS /Bucket?uploads', { origin: 'https://a.example' }, 'PreflightRequest', undefined],
];

describe('route table: AWS request lines resolve to their action and IAM permission', () => {
  test.each(LINES)('%s %j → %s', (line, headers, action, iam) => {
    const [method, url] = line.split(' ');
    const resolved = resolveRoute(method, resolveTarget(url.replace('Key+', 'photos/2006/February/sample.jpg'), 'localhost', undefined), headers);
    expect({ action: resolved.action, iam: resolved.iam }).toEqual({ action, iam });
  });

  test('rows the handler authorizes key by key are marked so', () => {
    const perKey = (line: string) => {
      const [method, url] = line.split(' ');
      return resolveRoute(method, resolveTarget(url, 'localhost', undefined), {}).perKey;
    };
    expect(perKey('POST /Bucket?delete')).toBe(true);
    expect(perKey('POST /Bucket')).toBe(true);
    expect(perKey('PUT /Bucket/k')).toBe(false);
  });

  test.each([['PROPFIND /Bucket', 'MethodNotAllowed'], ['GET /Bucket?replication', 'NotImplemented'], ['PATCH /Bucket/k', 'MethodNotAllowed']])(
    '%s → %s',
    (line, code) => {
      const [method, url] = line.split(' ');
      let error: unknown;
      try {
        resolveRoute(method, resolveTarget(url, 'localhost', undefined), {});
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(S3Error);
      expect((error as S3Error).code).toBe(code);
    },
  );
});
