import type { SqlQueryable } from './sql';
import { type DeleteOptions, type ObjectLockConfiguration, type Retention, type RetentionMode, MetadataError } from './store';
import { type VersionRow, bucketVersioning, keyBytes, s3VersionId, versionMatch, versionParams } from './sql-versions';

/**
 * Object lock on version rows. Every decision that a version may not be removed or its
 * retention weakened is taken inside the transaction that would do it, on the locked row and
 * by the database's clock (now()), so no race and no gateway clock can get a locked version
 * deleted.
 */

/** SQL, true while the row's version may not be removed: a legal hold, or a retention not yet
 * expired that is COMPLIANCE or not bypassed ($n: bypassGovernance). */
export function lockedNow(n: number): string {
  return `(COALESCE(legal_hold, false) OR (COALESCE(retain_until > now(), false) AND (retention_mode = 'COMPLIANCE' OR NOT $${n}::BOOL)))`;
}

/** The lock columns of a new version row. */
export function lockColumns(retention?: Retention, legalHold?: boolean): Pick<VersionRow, 'retention_mode' | 'retain_until' | 'legal_hold'> {
  return { retention_mode: retention?.mode ?? null, retain_until: retention?.until ?? null, legal_hold: legalHold ?? null };
}

/** The bucket's default retention for a version created at `now` (the database's time). */
export function defaultRetention(lock: ObjectLockConfiguration | undefined, now: Date): Retention | undefined {
  const d = lock?.defaultRetention;
  if (!d) return undefined;
  const until = new Date(now);
  if (d.years !== undefined) until.setUTCFullYear(until.getUTCFullYear() + d.years);
  else until.setUTCDate(until.getUTCDate() + (d.days ?? 0));
  return { mode: d.mode, until };
}

/** Whether a retention in force (`current`, unexpired) may become `next` (null: removed). */
function mayChange(current: Retention, next: Retention | null, bypassGovernance: boolean): boolean {
  const keptOrLonger = next !== null && next.until.getTime() >= current.until.getTime();
  if (current.mode === 'COMPLIANCE') return next?.mode === 'COMPLIANCE' && keptOrLonger;
  return (next?.mode === 'GOVERNANCE' && keptOrLonger) || bypassGovernance;
}

interface LockRow {
  version_id: string;
  null_version: boolean;
  delete_marker: boolean;
  retention_mode: RetentionMode | null;
  retain_until: Date | null;
  in_force: boolean;
}

/** One version's row (the current one without versionId), locked, and the table it is in.
 * Delete markers have no lock to set. */
async function lockVersion(tx: SqlQueryable, bucket: string, key: string, versionId: string | undefined): Promise<{ table: string; row: LockRow }> {
  await bucketVersioning(tx, bucket); // NoSuchBucket
  const params = versionId === undefined ? [bucket, keyBytes(key)] : [bucket, keyBytes(key), ...versionParams(versionId)];
  const select = (table: string) =>
    tx.query<LockRow>(
      `SELECT version_id, null_version, delete_marker, retention_mode, retain_until, COALESCE(retain_until > now(), false) AS in_force
         FROM ${table} WHERE bucket = $1 AND key = $2 ${versionId === undefined ? '' : `AND ${versionMatch(3)}`} FOR UPDATE`,
      params,
    );
  let table = 'objects';
  let rows = await select(table);
  if (rows.length === 0 && versionId !== undefined) rows = await select((table = 'object_versions'));
  if (rows.length === 0) throw new MetadataError(versionId === undefined ? 'NoSuchKey' : 'NoSuchVersion');
  // A delete marker: S3 answers 405 when it is named, 404 when it is current.
  if (rows[0].delete_marker) throw new MetadataError(versionId === undefined ? 'NoSuchKey' : 'MethodNotAllowed');
  return { table, row: rows[0] };
}

/** MetadataStore.putObjectRetention in a transaction. */
export async function setRetention(
  tx: SqlQueryable,
  bucket: string,
  key: string,
  versionId: string | undefined,
  retention: Retention | null,
  { bypassGovernance = false }: DeleteOptions,
): Promise<string> {
  const { table, row } = await lockVersion(tx, bucket, key, versionId);
  if (row.in_force && !mayChange({ mode: row.retention_mode!, until: new Date(row.retain_until!) }, retention, bypassGovernance)) {
    throw new MetadataError('AccessDenied');
  }
  await tx.query(
    `UPDATE ${table} SET retention_mode = $4, retain_until = $5::TIMESTAMPTZ WHERE bucket = $1 AND key = $2 AND version_id = $3`,
    [bucket, keyBytes(key), row.version_id, retention?.mode ?? null, retention?.until ?? null],
  );
  return s3VersionId(row);
}

/** MetadataStore.putObjectLegalHold in a transaction. */
export async function setLegalHold(tx: SqlQueryable, bucket: string, key: string, versionId: string | undefined, on: boolean): Promise<string> {
  const { table, row } = await lockVersion(tx, bucket, key, versionId);
  await tx.query(`UPDATE ${table} SET legal_hold = $4 WHERE bucket = $1 AND key = $2 AND version_id = $3`, [bucket, keyBytes(key), row.version_id, on]);
  return s3VersionId(row);
}
