import type { S3Call } from '../services';
import { S3Error } from './errors';

export async function getBucketCors(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function putBucketCors(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function deleteBucketCors(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

