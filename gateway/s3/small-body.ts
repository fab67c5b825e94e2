import { createHash } from 'node:crypto';
import type { S3Call } from '../services';
import { S3Error } from './errors';

/** Reads a request body that S3 bounds (XML configurations), refusing more than `limit`,
 * and checks it against a signed payload hash. */
export async function readSmallBody({ request, payload }: S3Call, limit = 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request.raw as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) throw new S3Error('MalformedXML', 'The XML you provided was larger than the maximum allowed size.');
    parts.push(part);
  }
  const body = Buffer.concat(parts);
  if (payload.mode === 'sha256' && createHash('sha256').update(body).digest('hex') !== payload.expectedHex.toLowerCase()) {
    throw new S3Error('XAmzContentSHA256Mismatch');
  }
  if (payload.mode === 'streaming') throw new S3Error('NotImplemented', 'aws-chunked bodies are accepted for object data only.');
  return body;
}
