import type { BucketCall } from '../services';
import { S3Error } from '../protocol/errors';

/**
 * Server-side encryption is not built. Rather than store plaintext while a client believes it
 * encrypted, every request that asks for it is refused (SSE_HEADERS, in routes.ts), and a
 * bucket answers that it has no encryption configuration, as AWS spells it.
 */

/** A request header that asks for server-side encryption (SSE-S3, SSE-KMS, SSE-C, or of a copy source). */
export const isSseHeader = (name: string): boolean =>
  name.startsWith('x-amz-server-side-encryption') || name.startsWith('x-amz-copy-source-server-side-encryption');

export const sseNotImplemented = (): S3Error => new S3Error('NotImplemented', 'Server-side encryption is not implemented: rfs stores objects unencrypted.');

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html */
export async function getBucketEncryption(call: BucketCall): Promise<void> {
  throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', undefined, { BucketName: call.bucket.name });
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html */
export async function putBucketEncryption(): Promise<void> {
  throw sseNotImplemented();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html
 * There is no configuration to remove: 204, as AWS answers. */
export async function deleteBucketEncryption(call: BucketCall): Promise<void> {
  call.reply.code(204).send();
}
