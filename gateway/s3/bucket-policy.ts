import type { BucketCall } from '../services';
import { S3Error, isS3Error } from '../protocol/errors';
import { xmlDocument } from '../protocol/xml';
import { PolicyError } from '../iam/policy';
import type { CompiledPolicy } from '../iam/policy-types';
import { readSmallBody } from './small-body';

/**
 * Bucket policies: stored as the text given (GetBucketPolicy returns it unchanged), compiled
 * by gateway/iam/policy.ts, evaluated by authorize().
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
 */

/** S3's limit on a bucket policy; policy.ts applies it to the text, this bounds the read. */
const MAX_POLICY_BYTES = 20 * 1024;
const TOO_LARGE = 'Policy exceeds the maximum allowed document size.';

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html
 * A policy S3 calls public is refused under BlockPublicPolicy (a public one already in place
 * stays). */
export async function putBucketPolicy(call: BucketCall): Promise<void> {
  const { bucket, services, reply } = call;
  const text = policyText(await readPolicyBody(call));
  let policy: CompiledPolicy;
  try {
    policy = services.iam.compiled(text, 'resource', bucket.name);
  } catch (e) {
    if (e instanceof PolicyError) throw new S3Error('MalformedPolicy', e.message);
    throw e;
  }
  if (bucket.publicAccessBlock?.blockPublicPolicy && policy.isPublic) throw new S3Error('AccessDenied');
  await services.buckets.update(bucket.name, { policy: text });
  reply.code(204).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html */
export async function getBucketPolicy({ bucket, reply }: BucketCall): Promise<void> {
  if (bucket.policy === undefined) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: bucket.name });
  reply.type('application/json').send(bucket.policy);
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketPolicy.html
 * Deleting a policy that is not there succeeds, as on S3. */
export async function deleteBucketPolicy({ bucket, services, reply }: BucketCall): Promise<void> {
  await services.buckets.update(bucket.name, { policy: null });
  reply.code(204).send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicyStatus.html
 * Whether the bucket policy is public in S3's sense; a bucket without one is NoSuchBucketPolicy. */
export async function getBucketPolicyStatus({ bucket, services, reply }: BucketCall): Promise<void> {
  if (bucket.policy === undefined) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: bucket.name });
  const isPublic = services.iam.compiled(bucket.policy, 'resource', bucket.name).isPublic;
  reply.type('application/xml').send(xmlDocument('PolicyStatus', { IsPublic: isPublic ? 'true' : 'false' }));
}

/** The body, bounded by S3's limit; more is a policy too large, not the XML error the small
 * body reader would give. */
async function readPolicyBody(call: BucketCall): Promise<Buffer> {
  try {
    return await readSmallBody(call, { limit: MAX_POLICY_BYTES, checked: true });
  } catch (e) {
    if (isS3Error(e) && e.code === 'MalformedXML') throw new S3Error('MalformedPolicy', TOO_LARGE);
    throw e;
  }
}

/** A policy is UTF-8 JSON text; other bytes cannot be one. A BOM is kept, so policy.ts sees
 * that the first byte is not `{`, as S3 does. */
function policyText(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    throw new S3Error('MalformedPolicy');
  }
}
