import type { S3Call } from '../services';
import { S3Error } from './errors';

export async function createMultipartUpload(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function uploadPart(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function uploadPartCopy(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function completeMultipartUpload(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function abortMultipartUpload(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function listParts(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

export async function listMultipartUploads(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

