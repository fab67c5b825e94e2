import type { S3Call } from '../services';
import { S3Error } from './errors';

export async function getBucketVersioning(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function putBucketVersioning(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function listObjectVersions(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

