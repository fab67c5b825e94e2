import type { S3Call } from '../services';
import { S3Error } from './errors';

export async function deleteObjects(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

