import type { BucketCall } from '../services';
import type { PublicAccessBlock } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { parseXml, xmlDocument } from '../protocol/xml';
import { readSmallBody } from './small-body';

/**
 * A bucket's Block Public Access settings. They act elsewhere: BlockPublicAcls in the ACL
 * writes (s3/acl.ts, s3/ownership.ts), BlockPublicPolicy in PutBucketPolicy, IgnorePublicAcls
 * and RestrictPublicBuckets in authorize().
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
 */

const PAB_BODY_LIMIT = 16 * 1024;

/** XML element → field; the order S3 lists them in. */
const FIELDS = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
] as const;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html
 * Replaces the whole configuration: a setting left out is false. */
export async function putPublicAccessBlock(call: BucketCall): Promise<void> {
  const publicAccessBlock = parsePublicAccessBlock(await readSmallBody(call, { limit: PAB_BODY_LIMIT, checked: true }));
  await call.services.buckets.update(call.bucket.name, { publicAccessBlock });
  call.reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html */
export async function getPublicAccessBlock({ bucket, reply }: BucketCall): Promise<void> {
  const pab = bucket.publicAccessBlock;
  if (!pab) throw new S3Error('NoSuchPublicAccessBlockConfiguration', undefined, { BucketName: bucket.name });
  reply.type('application/xml').send(xmlDocument('PublicAccessBlockConfiguration', Object.fromEntries(FIELDS.map(([element, field]) => [element, pab[field]]))));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeletePublicAccessBlock.html */
export async function deletePublicAccessBlock({ bucket, services, reply }: BucketCall): Promise<void> {
  await services.buckets.update(bucket.name, { publicAccessBlock: null });
  reply.code(204).send();
}

/** `<PublicAccessBlockConfiguration>` with any of the four booleans (xsd:boolean: true, false,
 * 1, 0); another root, another element or another value is MalformedXML. */
export function parsePublicAccessBlock(body: Buffer): PublicAccessBlock {
  if (body.length === 0) throw new S3Error('MalformedXML');
  const doc = parseXml(body.toString('utf8'));
  const roots = Object.keys(doc).filter((k) => k !== '?xml');
  const conf = doc.PublicAccessBlockConfiguration;
  if (roots.length !== 1 || conf === undefined || (typeof conf === 'string' && conf !== '')) throw new S3Error('MalformedXML');
  const given = typeof conf === 'object' && conf !== null ? (conf as Record<string, unknown>) : {};
  const known = new Set<string>(FIELDS.map(([element]) => element));
  if (Object.keys(given).some((k) => !known.has(k))) throw new S3Error('MalformedXML');
  const pab: PublicAccessBlock = { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };
  for (const [element, field] of FIELDS) {
    const value = given[element];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new S3Error('MalformedXML');
    const v = value.trim().toLowerCase();
    if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw new S3Error('MalformedXML');
    pab[field] = v === 'true' || v === '1';
  }
  return pab;
}
