import type { IncomingHttpHeaders } from 'node:http';
import type { BucketCall } from '../services';
import { type Bucket, type ObjectLockConfiguration, type ObjectVersion, type Retention, type RetentionMode, MetadataError } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { single } from '../protocol/headers';
import { isoDate, parseXml, xmlDocument } from '../protocol/xml';
import { xmlElement, xmlText } from '../protocol/xml-fields';
import { declaredChecksums } from '../body/checksums';
import { checkKey } from './addressing';
import { readSmallBody } from './small-body';
import { parseVersionId, readVersion, refuseDeleteMarker, versionWriteError } from './versioning';

/**
 * Object lock (WORM): the bucket's configuration, each version's retention and legal hold,
 * and the lock headers of writes. Whether a version may be deleted or its retention
 * weakened is the store's decision, taken in the transaction that would do it
 * (metadata/sql-lock.ts); this module speaks S3 around it.
 */

/** Each of these documents is a few short elements. */
const LOCK_BODY_LIMIT = 16 * 1024;
/** AWS's longest default retention. */
const MAX_DAYS = 36_500;
const MAX_YEARS = 100;

const MODES: readonly string[] = ['GOVERNANCE', 'COMPLIANCE'] satisfies RetentionMode[];

/** S3's answer to a delete or a retention change that object lock forbids. */
export const objectLocked = (): S3Error => new S3Error('AccessDenied', 'Access Denied because object protected by object lock.');

const missingLock = (): S3Error => new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');

// ---- the bucket's configuration ----

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html
 * Enables object lock on a bucket whose versioning is Enabled, or replaces its default retention. */
export async function putObjectLockConfiguration(call: BucketCall): Promise<void> {
  const body = await readSmallBody(call, { limit: LOCK_BODY_LIMIT, required: true });
  const objectLock = parseLockConfiguration(body.toString('utf8'));
  try {
    await call.services.buckets.update(call.bucket.name, { objectLock });
  } catch (e) {
    if (e instanceof MetadataError && e.code === 'InvalidBucketState') {
      throw new S3Error('InvalidBucketState', "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
    }
    throw e;
  }
  call.reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLockConfiguration.html */
export async function getObjectLockConfiguration({ bucket, reply }: BucketCall): Promise<void> {
  if (!bucket.objectLock) throw new S3Error('ObjectLockConfigurationNotFoundError', undefined, { BucketName: bucket.name });
  const d = bucket.objectLock.defaultRetention;
  const rule = d ? { Rule: { DefaultRetention: { Mode: d.mode, ...(d.days !== undefined ? { Days: d.days } : { Years: d.years }) } } } : {};
  reply.type('application/xml').send(xmlDocument('ObjectLockConfiguration', { ObjectLockEnabled: 'Enabled', ...rule }));
}

/** An ObjectLockConfiguration document: ObjectLockEnabled is Enabled; a Rule holds a
 * DefaultRetention of a Mode and Days or Years. What the schema forbids is MalformedXML; a
 * period that is not a positive count is InvalidRetentionPeriod. */
export function parseLockConfiguration(xml: string): ObjectLockConfiguration {
  const config = xmlElement(parseXml(xml).ObjectLockConfiguration, ['ObjectLockEnabled', 'Rule']);
  if (!config || xmlText(config.ObjectLockEnabled) !== 'Enabled') throw new S3Error('MalformedXML');
  const rule = xmlElement(config.Rule, ['DefaultRetention']);
  if (!rule) return {};
  const d = xmlElement(rule.DefaultRetention, ['Mode', 'Days', 'Years']);
  const mode = d && xmlText(d.Mode);
  if (!d || !mode || !MODES.includes(mode)) throw new S3Error('MalformedXML');
  const days = xmlText(d.Days);
  const years = xmlText(d.Years);
  if ((days === undefined) === (years === undefined)) throw new S3Error('MalformedXML');
  const period = (days ?? years)!;
  if (!/^[-+]?\d+$/.test(period)) throw new S3Error('MalformedXML');
  const n = Number(period);
  if (n < 1 || n > (days !== undefined ? MAX_DAYS : MAX_YEARS)) throw new S3Error('InvalidRetentionPeriod');
  return { defaultRetention: { mode: mode as RetentionMode, ...(days !== undefined ? { days: n } : { years: n }) } };
}

// ---- a version's retention and legal hold ----

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html
 * An empty Retention removes it (GOVERNANCE, with the bypass). */
export async function putObjectRetention(call: BucketCall): Promise<void> {
  const { key, versionId } = lockTarget(call);
  const body = await readSmallBody(call, { limit: LOCK_BODY_LIMIT, required: true });
  const retention = parseRetention(body.toString('utf8'));
  const bypassGovernance = await governanceBypass(call, [{ key, versionId }]);
  try {
    await call.services.meta.putObjectRetention(call.bucket.name, key, versionId, retention, { bypassGovernance });
  } catch (e) {
    if (e instanceof MetadataError && e.code === 'AccessDenied') throw objectLocked();
    throw versionWriteError(e, key, versionId);
  }
  call.reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectRetention.html */
export async function getObjectRetention(call: BucketCall): Promise<void> {
  const { retention } = await lockedVersion(call);
  if (!retention) throw new S3Error('NoSuchObjectLockConfiguration');
  call.reply.type('application/xml').send(xmlDocument('Retention', { Mode: retention.mode, RetainUntilDate: isoDate(retention.until) }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html */
export async function putObjectLegalHold(call: BucketCall): Promise<void> {
  const { key, versionId } = lockTarget(call);
  const body = await readSmallBody(call, { limit: LOCK_BODY_LIMIT, required: true });
  const hold = xmlElement(parseXml(body.toString('utf8')).LegalHold, ['Status']);
  const status = hold && xmlText(hold.Status);
  if (status !== 'ON' && status !== 'OFF') throw new S3Error('MalformedXML');
  await call.services.meta.putObjectLegalHold(call.bucket.name, key, versionId, status === 'ON').catch((e: unknown) => {
    throw versionWriteError(e, key, versionId);
  });
  call.reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLegalHold.html */
export async function getObjectLegalHold(call: BucketCall): Promise<void> {
  const { legalHold } = await lockedVersion(call);
  if (legalHold === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  call.reply.type('application/xml').send(xmlDocument('LegalHold', { Status: legalHold ? 'ON' : 'OFF' }));
}

/** The key and version a retention or legal hold request names, in a bucket with object lock. */
function lockTarget({ bucket, target }: BucketCall): { key: string; versionId?: string } {
  checkKey(target.key);
  const versionId = parseVersionId(target.query);
  if (!bucket.objectLock) throw missingLock();
  return { key: target.key, versionId };
}

async function lockedVersion(call: BucketCall): Promise<{ retention?: Retention; legalHold?: boolean }> {
  const { key, versionId } = lockTarget(call);
  const object = await readVersion(call.services.meta, call.bucket.name, key, versionId);
  refuseDeleteMarker(object, versionId !== undefined, call.request.method);
  return object;
}

/** A Retention document: Mode and RetainUntilDate together (a date in the future), or neither. */
function parseRetention(xml: string): Retention | null {
  const el = xmlElement(parseXml(xml).Retention, ['Mode', 'RetainUntilDate']);
  if (!el) throw new S3Error('MalformedXML');
  const mode = xmlText(el.Mode);
  const date = xmlText(el.RetainUntilDate);
  if (mode === undefined && date === undefined) return null;
  if (mode === undefined || !MODES.includes(mode) || date === undefined) throw new S3Error('MalformedXML');
  const until = isoTime(date);
  if (until === undefined) throw new S3Error('MalformedXML');
  return { mode: mode as RetentionMode, until: future(until) };
}

// ---- writes and deletes ----

/** What a write's lock headers ask for (x-amz-object-lock-mode with -retain-until-date, and
 * -legal-hold), refused as S3 refuses them. POST forms give the same as fields. */
export function objectLockHeaders(bucket: Bucket, headers: IncomingHttpHeaders): { retention?: Retention; legalHold?: boolean } {
  const mode = single(headers['x-amz-object-lock-mode']);
  const date = single(headers['x-amz-object-lock-retain-until-date']);
  const hold = single(headers['x-amz-object-lock-legal-hold']);
  if (mode === undefined && date === undefined && hold === undefined) return {};
  if (!bucket.objectLock) throw missingLock();
  const lock: { retention?: Retention; legalHold?: boolean } = {};
  if ((mode === undefined) !== (date === undefined)) {
    throw new S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
  }
  if (mode !== undefined && date !== undefined) {
    if (!MODES.includes(mode)) throw new S3Error('InvalidArgument', 'Unknown wormMode directive.', { ArgumentName: 'x-amz-object-lock-mode', ArgumentValue: mode });
    const until = isoTime(date);
    if (until === undefined) {
      throw new S3Error('InvalidArgument', 'The retain until date must be provided in ISO 8601 format', {
        ArgumentName: 'x-amz-object-lock-retain-until-date', ArgumentValue: date,
      });
    }
    lock.retention = { mode: mode as RetentionMode, until: future(until) };
  }
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF') {
      throw new S3Error('InvalidArgument', "Legal Hold must be either of 'ON' or 'OFF'", { ArgumentName: 'x-amz-object-lock-legal-hold', ArgumentValue: hold });
    }
    lock.legalHold = hold === 'ON';
  }
  return lock;
}

/**
 * The lock headers of PutObject, CopyObject and CreateMultipartUpload, for a caller that may
 * set what they ask (s3:PutObjectRetention, s3:PutObjectLegalHold). A PutObject that sets a
 * lock must prove its body's integrity (`integrity`): Content-MD5 or a checksum.
 */
export async function writeLock(call: BucketCall, { integrity = false } = {}): Promise<{ retention?: Retention; legalHold?: boolean }> {
  const { bucket, target, request } = call;
  const lock = objectLockHeaders(bucket, request.headers);
  if (lock.retention) await call.authorize('s3:PutObjectRetention', bucket.name, target.key);
  if (lock.legalHold !== undefined) await call.authorize('s3:PutObjectLegalHold', bucket.name, target.key);
  if (integrity && (lock.retention || lock.legalHold !== undefined)) {
    const declared = declaredChecksums(request.headers);
    if (declared.contentMd5 === undefined && Object.keys(declared.checksums).length === 0 && !declared.trailer) {
      throw new S3Error('InvalidRequest', 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters');
    }
  }
  return lock;
}

/**
 * Whether the request overrides GOVERNANCE retention: it says so
 * (x-amz-bypass-governance-retention: true) and may, on every version it names
 * (s3:BypassGovernanceRetention). A caller who may not is not refused here: the bypass just
 * does not happen, so only versions under retention are refused.
 */
export async function governanceBypass(call: BucketCall, versions: { key: string; versionId?: string }[]): Promise<boolean> {
  if (single(call.request.headers['x-amz-bypass-governance-retention'])?.toLowerCase() !== 'true') return false;
  for (const v of versions) if (!(await allowed(call, 's3:BypassGovernanceRetention', v.key, v.versionId))) return false;
  return true;
}

/** Whether the caller may do `action` on the version: a refusal is an answer, not an error. */
async function allowed(call: BucketCall, action: string, key: string, versionId?: string): Promise<boolean> {
  try {
    await call.authorize(action, call.bucket.name, key, versionId);
    return true;
  } catch (e) {
    if (e instanceof S3Error && e.code === 'AccessDenied') return false;
    throw e;
  }
}

/** The lock headers GET and HEAD answer for a version: each only to a caller who may read it
 * (s3:GetObjectRetention, s3:GetObjectLegalHold), as S3 answers them. */
export async function lockResponseHeaders(call: BucketCall, o: ObjectVersion): Promise<Record<string, string>> {
  const may = (action: string) => allowed(call, action, o.key, o.versionId);
  return {
    ...(o.retention && (await may('s3:GetObjectRetention'))
      ? { 'x-amz-object-lock-mode': o.retention.mode, 'x-amz-object-lock-retain-until-date': isoDate(o.retention.until) }
      : {}),
    ...(o.legalHold !== undefined && (await may('s3:GetObjectLegalHold')) ? { 'x-amz-object-lock-legal-hold': o.legalHold ? 'ON' : 'OFF' } : {}),
  };
}

/** An ISO 8601 date-time (`2030-01-01T00:00:00Z`, with fractions or an offset), else undefined. */
function isoTime(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** A retain-until date must be ahead of now. */
function future(until: Date): Date {
  if (until.getTime() <= Date.now()) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
  return until;
}
