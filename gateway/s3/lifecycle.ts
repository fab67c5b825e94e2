import { randomBytes } from 'node:crypto';
import type { LifecycleFilter, LifecycleRule } from '../../metadata/store';
import type { BucketCall } from '../services';
import { S3Error } from '../protocol/errors';
import { parseXml, xmlDocument } from '../protocol/xml';
import { xmlElement, xmlList, xmlText } from '../protocol/xml-fields';
import { readSmallBody } from './small-body';

/**
 * A bucket's lifecycle configuration: the rules, validated with S3's codes and messages
 * (the API reference, and the answers ceph's s3-tests record from S3), stored with the
 * bucket and answered back in the form they were given.
 */

const MAX_RULES = 1000;
const MAX_ID_CHARS = 255;
const MAX_CONFIG_BYTES = 256 * 1024;
const MAX_NEWER_NONCURRENT = 100;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
 * Replaces the whole configuration. */
export async function putBucketLifecycle(call: BucketCall): Promise<void> {
  // S3 requires an integrity check on this body: Content-MD5, or a flexible checksum.
  const body = await readSmallBody(call, { limit: MAX_CONFIG_BYTES, required: true });
  const lifecycle = parseLifecycleConfiguration(body.toString('utf8'));
  await call.services.buckets.update(call.bucket.name, { lifecycle });
  call.reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html */
export async function getBucketLifecycle({ bucket, reply }: BucketCall): Promise<void> {
  if (!bucket.lifecycle?.length) throw new S3Error('NoSuchLifecycleConfiguration', undefined, { BucketName: bucket.name });
  reply.type('application/xml').send(xmlDocument('LifecycleConfiguration', { Rule: bucket.lifecycle.map(ruleXml) }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketLifecycle.html (204, with or without one). */
export async function deleteBucketLifecycle({ bucket, services, reply }: BucketCall): Promise<void> {
  await services.buckets.update(bucket.name, { lifecycle: null });
  reply.code(204).send();
}

// ---- parsing ----

const RULE_ELEMENTS = [
  'ID', 'Filter', 'Prefix', 'Status', 'Expiration', 'NoncurrentVersionExpiration', 'AbortIncompleteMultipartUpload',
  'Transition', 'NoncurrentVersionTransition',
] as const;
const CONDITIONS = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'] as const;

/** Parses and validates a LifecycleConfiguration document. */
export function parseLifecycleConfiguration(xml: string): LifecycleRule[] {
  const config = xmlElement(parseXml(xml).LifecycleConfiguration, ['Rule']);
  const rules = xmlList(config?.Rule);
  if (rules.length === 0) throw new S3Error('MalformedXML');
  if (rules.length > MAX_RULES) throw new S3Error('InvalidRequest', `The number of lifecycle rules should not exceed allowed limit of ${MAX_RULES} rules`);
  const parsed = rules.map(parseRule);
  const ids = new Set<string>();
  for (const { id } of parsed) {
    if (ids.has(id)) throw new S3Error('InvalidArgument', 'Rule ID must be unique. Found same ID for more than one rule', { ArgumentName: 'ID', ArgumentValue: id });
    ids.add(id);
  }
  return parsed;
}

function parseRule(raw: unknown): LifecycleRule {
  const el = xmlElement(raw, RULE_ELEMENTS)!;
  if (el.Transition !== undefined || el.NoncurrentVersionTransition !== undefined) {
    throw new S3Error('NotImplemented', 'rfs has one storage class: lifecycle transitions are not implemented.');
  }
  const given = xmlText(el.ID);
  if (given !== undefined && given.length > MAX_ID_CHARS) {
    throw new S3Error('InvalidArgument', `ID length should not exceed allowed limit of ${MAX_ID_CHARS}`, { ArgumentName: 'ID', ArgumentValue: given });
  }
  const status = xmlText(el.Status);
  if (status !== 'Enabled' && status !== 'Disabled') throw new S3Error('MalformedXML');
  const filter = parseFilter(el);
  const rule: LifecycleRule = {
    // S3 names a rule given without an ID.
    id: given === undefined || given === '' ? randomBytes(30).toString('base64url') : given,
    enabled: status === 'Enabled',
    filter,
  };
  const expiration = xmlElement(el.Expiration, ['Days', 'Date', 'ExpiredObjectDeleteMarker']);
  if (expiration) rule.expiration = parseExpiration(expiration, filter);
  const noncurrent = xmlElement(el.NoncurrentVersionExpiration, ['NoncurrentDays', 'NewerNoncurrentVersions']);
  if (noncurrent) {
    const newer = xmlText(noncurrent.NewerNoncurrentVersions);
    const newerCount = newer === undefined ? undefined : positive(newer, 'NewerNoncurrentVersions', 'NoncurrentVersionExpiration');
    if (newerCount !== undefined && newerCount > MAX_NEWER_NONCURRENT) {
      throw new S3Error('InvalidArgument', `'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to ${MAX_NEWER_NONCURRENT}`, {
        ArgumentName: 'NewerNoncurrentVersions', ArgumentValue: newer!,
      });
    }
    rule.noncurrentVersionExpiration = {
      noncurrentDays: positive(required(noncurrent.NoncurrentDays), 'NoncurrentDays', 'NoncurrentVersionExpiration'),
      ...(newerCount !== undefined ? { newerNoncurrentVersions: newerCount } : {}),
    };
  }
  const abort = xmlElement(el.AbortIncompleteMultipartUpload, ['DaysAfterInitiation']);
  if (abort) {
    if (filter.tags.length > 0) throw new S3Error('InvalidRequest', 'AbortIncompleteMultipartUpload cannot be specified with Tags.');
    rule.abortIncompleteMultipartUploadDays = positive(required(abort.DaysAfterInitiation), 'DaysAfterInitiation', 'AbortIncompleteMultipartUpload');
  }
  if (!rule.expiration && !rule.noncurrentVersionExpiration && rule.abortIncompleteMultipartUploadDays === undefined) {
    throw new S3Error('InvalidRequest', 'At least one action needs to be specified in a rule');
  }
  return rule;
}

/** A rule's Filter, or its older Rule-level Prefix: exactly one of the two. */
function parseFilter(el: Record<string, unknown>): LifecycleFilter {
  const legacy = xmlText(el.Prefix);
  const filter = xmlElement(el.Filter, [...CONDITIONS, 'And']);
  if ((legacy === undefined) === (filter === undefined)) throw new S3Error('MalformedXML');
  if (legacy !== undefined) return { form: 'prefix', prefix: legacy, tags: [] };
  const given = Object.keys(filter!);
  // A Filter holds one condition, or an And of several.
  if (given.length > 1 || (given[0] === 'Tag' && xmlList(filter!.Tag).length > 1)) throw new S3Error('MalformedXML');
  const and = xmlElement(filter!.And, CONDITIONS);
  const parsed = conditions(and ?? filter!);
  return { form: and ? 'and' : 'filter', ...parsed };
}

function conditions(el: Record<string, unknown>): Omit<LifecycleFilter, 'form'> {
  const tags = xmlList(el.Tag).map((t) => {
    const tag = xmlElement(t, ['Key', 'Value'])!;
    return [required(tag.Key), xmlText(tag.Value) ?? ''] as [string, string];
  });
  if (new Set(tags.map(([k]) => k)).size !== tags.length) throw new S3Error('InvalidRequest', 'Duplicate Tag Keys are not allowed.');
  const size = (name: 'ObjectSizeGreaterThan' | 'ObjectSizeLessThan') => {
    const v = xmlText(el[name]);
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new S3Error('InvalidArgument', `'${name}' must be a non-negative integer`, { ArgumentName: name, ArgumentValue: v });
    return Number(v);
  };
  const greater = size('ObjectSizeGreaterThan');
  const less = size('ObjectSizeLessThan');
  if (greater !== undefined && less !== undefined && greater >= less) {
    throw new S3Error('InvalidRequest', 'Invalid ObjectSize: ObjectSizeGreaterThan must be less than ObjectSizeLessThan');
  }
  const prefix = xmlText(el.Prefix);
  return {
    ...(prefix !== undefined ? { prefix } : {}),
    tags,
    ...(greater !== undefined ? { objectSizeGreaterThan: greater } : {}),
    ...(less !== undefined ? { objectSizeLessThan: less } : {}),
  };
}

function parseExpiration(el: Record<string, unknown>, filter: LifecycleFilter): NonNullable<LifecycleRule['expiration']> {
  const days = xmlText(el.Days);
  const date = xmlText(el.Date);
  const marker = xmlText(el.ExpiredObjectDeleteMarker);
  if (Number(days !== undefined) + Number(date !== undefined) + Number(marker !== undefined) !== 1) throw new S3Error('MalformedXML');
  if (days !== undefined) return { days: positive(days, 'Days', 'Expiration') };
  if (date !== undefined) return { date: midnight(date) };
  if (marker !== 'true' && marker !== 'false') throw new S3Error('MalformedXML');
  if (filter.tags.length > 0) throw new S3Error('InvalidRequest', 'ExpiredObjectDeleteMarker cannot be specified with Tags.');
  return { expiredObjectDeleteMarker: marker === 'true' };
}

/** A Date is midnight UTC, in ISO 8601 (`2027-01-01T00:00:00Z`, `2027-01-01T00:00:00.000Z`). */
function midnight(text: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new S3Error('InvalidArgument', "'Date' must be in ISO 8601 format", { ArgumentName: 'Date', ArgumentValue: text });
  if (ms % 86_400_000 !== 0) throw new S3Error('InvalidArgument', "'Date' must be at midnight GMT", { ArgumentName: 'Date', ArgumentValue: text });
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function required(value: unknown): string {
  const v = xmlText(value);
  if (v === undefined) throw new S3Error('MalformedXML');
  return v;
}

function positive(text: string, name: string, action: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) {
    throw new S3Error('InvalidArgument', `'${name}' for ${action} action must be a positive integer`, { ArgumentName: name, ArgumentValue: text });
  }
  return Number(text);
}

// ---- answering ----

/** A rule as GetBucketLifecycleConfiguration answers it, in S3's element order. */
function ruleXml(rule: LifecycleRule): Record<string, unknown> {
  const { filter } = rule;
  const tag = ([Key, Value]: [string, string]) => ({ Key, Value });
  const conditionsXml = {
    ...(filter.prefix !== undefined ? { Prefix: filter.prefix } : {}),
    ...(filter.tags.length ? { Tag: filter.tags.map(tag) } : {}),
    ...(filter.objectSizeGreaterThan !== undefined ? { ObjectSizeGreaterThan: filter.objectSizeGreaterThan } : {}),
    ...(filter.objectSizeLessThan !== undefined ? { ObjectSizeLessThan: filter.objectSizeLessThan } : {}),
  };
  const e = rule.expiration;
  const n = rule.noncurrentVersionExpiration;
  return {
    ID: rule.id,
    ...(filter.form === 'prefix' ? { Prefix: filter.prefix ?? '' } : { Filter: filter.form === 'and' ? { And: conditionsXml } : conditionsXml }),
    Status: rule.enabled ? 'Enabled' : 'Disabled',
    ...(e ? { Expiration: e.days !== undefined ? { Days: e.days } : e.date !== undefined ? { Date: e.date } : { ExpiredObjectDeleteMarker: e.expiredObjectDeleteMarker } } : {}),
    ...(n ? { NoncurrentVersionExpiration: { NoncurrentDays: n.noncurrentDays, ...(n.newerNoncurrentVersions !== undefined ? { NewerNoncurrentVersions: n.newerNoncurrentVersions } : {}) } } : {}),
    ...(rule.abortIncompleteMultipartUploadDays !== undefined
      ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: rule.abortIncompleteMultipartUploadDays } }
      : {}),
  };
}

