import type { IncomingHttpHeaders } from 'node:http';
import type { BucketCall } from '../services';
import { newObjectAcl } from './ownership';
import { writerOf } from '../iam/authorize';
import type { ObjectVersion } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { checkKey } from './addressing';
import { writeCondition } from './conditions';
import { copySourceVersionHeader, readCopySource } from './copy-source';
import { storedHeaders, userMetadata } from './object-headers';
import { parseTaggingHeader } from './tagging';
import { isoDate, xmlDocument } from '../protocol/xml';
import { single } from '../protocol/headers';
import { writeLock } from './object-lock';
import { expirationHeader } from '../objects/lifecycle-rules';

/** S3's limit for one CopyObject; larger copies go through UploadPartCopy. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

type Directive = 'COPY' | 'REPLACE';

/**
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 * The copy shares the source's chunks (no byte is read or rewritten) and keeps its ETag and
 * checksums; metadata and tags come from the source (COPY, the default) or the request
 * (REPLACE).
 */
export async function copyObject(call: BucketCall): Promise<void> {
  const { services, target, caller, request, reply } = call;
  const { bucket, key } = target;
  checkKey(key);
  const headers = request.headers;
  const metadata = directive(headers, 'x-amz-metadata-directive', 'Unknown metadata directive.');
  const tagging = directive(headers, 'x-amz-tagging-directive', 'Unknown tagging directive.');
  // What REPLACE takes from the request is checked before any lookup.
  const replaced = metadata === 'REPLACE' ? { headers: storedHeaders(headers), userMetadata: userMetadata(headers) } : undefined;
  const tags = tagging === 'REPLACE' ? parseTaggingHeader(single(headers['x-amz-tagging']) ?? '') : undefined;
  const condition = writeCondition(headers);
  // The copy gets the lock its request asks for, never the source's.
  const lock = await writeLock(call);

  const source = await readCopySource(call);
  const from = source.object;
  if (from.size > MAX_COPY_BYTES) {
    throw new S3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`);
  }
  if (source.bucket === bucket && source.key === key && from.isLatest && !changesObject(headers, metadata)) {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }

  const { owner, acl } = await newObjectAcl(call, call.bucket, writerOf(caller));
  await services.quota.check(call.bucket, from.size);
  const { versionId, lastModified } = await services.objects.copy(
    {
      bucket, key, owner, acl, tags: tags ?? from.tags,
      headers: replaced?.headers ?? from.headers, userMetadata: replaced?.userMetadata ?? from.userMetadata, ...lock,
    },
    from,
    condition,
  );
  const expiration = expirationHeader(call.bucket.lifecycle, { key, size: from.size, tags: tags ?? from.tags, lastModified }, services.config.lifecycleDayMs);
  reply
    .headers({ ...copySourceVersionHeader(source), ...(versionId !== 'null' ? { 'x-amz-version-id': versionId } : {}), ...expiration })
    .type('application/xml')
    .send(xmlDocument('CopyObjectResult', copyResult(from, lastModified)));
}

function directive(headers: IncomingHttpHeaders, name: string, message: string): Directive {
  const v = single(headers[name]);
  if (v === undefined) return 'COPY';
  if (v !== 'COPY' && v !== 'REPLACE') throw new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: v });
  return v;
}

/** What lets an object be copied onto itself, in S3's words: new metadata, storage class,
 * website redirect location or encryption attributes. */
function changesObject(headers: IncomingHttpHeaders, metadata: Directive): boolean {
  return (
    metadata === 'REPLACE' ||
    ['x-amz-storage-class', 'x-amz-website-redirect-location', 'x-amz-server-side-encryption'].some((h) => headers[h] !== undefined)
  );
}

function copyResult(from: ObjectVersion, lastModified: Date): Record<string, unknown> {
  const checksums = Object.entries(from.checksums).map(([alg, value]) => [`Checksum${alg}`, value]);
  return {
    ETag: from.etag,
    LastModified: isoDate(lastModified),
    ...(checksums.length > 0 ? { ChecksumType: from.checksumType ?? 'FULL_OBJECT', ...Object.fromEntries(checksums) } : {}),
  };
}
