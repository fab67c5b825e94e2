import type { S3Call } from '../services';
import { S3Error } from './errors';

export async function getBucketAcl(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function putBucketAcl(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function getObjectAcl(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function putObjectAcl(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

