import { createHash } from 'node:crypto';
import type { S3Call } from '../services';
import { S3Error } from '../protocol/errors';
import { BodyDigests, checksumAlgorithms, declaredChecksums, verifyChecksums } from '../body/checksums';

export interface SmallBodyOptions {
  /** Bytes allowed; more is MalformedXML. */
  limit?: number;
  /** Verify the Content-MD5 / x-amz-checksum-* the request declares for this body (not on
   * CompleteMultipartUpload, whose checksum headers describe the object). */
  checked?: boolean;
  /** One of them must be present (DeleteObjects, PutBucketCors, …): S3's InvalidRequest. */
  required?: boolean;
}

/** Reads a request body that S3 bounds (XML configurations and lists), checked against a
 * signed payload hash and, when asked, against its declared digests. */
export async function readSmallBody(call: S3Call, { limit = 1024 * 1024, checked = false, required = false }: SmallBodyOptions = {}): Promise<Buffer> {
  const { request, payload } = call;
  // Parsed only when this body is to be checked: on CompleteMultipartUpload the checksum
  // headers describe the object, in a form (…-N) that is no body digest.
  const declared = checked || required ? declaredChecksums(request.headers) : undefined;
  if (required && declared && declared.contentMd5 === undefined && Object.keys(declared.checksums).length === 0 && !declared.trailer) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5');
  }
  const parts: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false, so a refusal (too large) leaves the socket open for its answer;
  // destroying an unfinished request would reset the connection under the answer. (Handler
  // tests pass a plain async iterable.)
  const raw = request.raw as Partial<Pick<typeof request.raw, 'iterator'>> & AsyncIterable<Buffer>;
  for await (const part of (raw.iterator?.({ destroyOnReturn: false }) ?? raw) as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) throw new S3Error('MalformedXML', 'The XML you provided was larger than the maximum allowed size.');
    parts.push(part);
  }
  const body = Buffer.concat(parts);
  if (payload.mode === 'sha256' && createHash('sha256').update(body).digest('hex') !== payload.expectedHex.toLowerCase()) {
    throw new S3Error('XAmzContentSHA256Mismatch');
  }
  if (payload.mode === 'streaming') throw new S3Error('NotImplemented', 'aws-chunked bodies are accepted for object data only.');
  if (declared) {
    const digests = new BodyDigests(checksumAlgorithms(declared));
    digests.update(body);
    await verifyChecksums(declared, {}, digests);
  }
  return body;
}
