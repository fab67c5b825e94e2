import type { S3Call } from '../services';
import { S3Error } from './errors';

export async function postObject(_call: S3Call): Promise<void> {
  throw new S3Error('NotImplemented');
}

