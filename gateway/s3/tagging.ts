import type { S3Call } from '../services';
import { S3Error } from './errors';

export async function getObjectTagging(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function putObjectTagging(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function deleteObjectTagging(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function getBucketTagging(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function putBucketTagging(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function deleteBucketTagging(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

