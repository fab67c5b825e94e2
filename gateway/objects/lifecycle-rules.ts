import type { LifecycleFilter, LifecycleRule, LifecycleVersion, Tags } from '../../metadata/store';

/**
 * What a bucket's lifecycle rules say of one version: whether a rule's filter takes it, and
 * when it is due. Shared by the runner (gateway/objects/lifecycle.ts) and the x-amz-expiration
 * header of PUT, HEAD and GET, so the header promises what the runner does.
 */

/** A version as the filter sees it. */
type Filtered = Pick<LifecycleVersion, 'key' | 'size'> & { tags: Tags };

/** Prefix, every tag, and the size bounds (exclusive) must all hold. */
export function filterTakes(filter: LifecycleFilter, v: Filtered): boolean {
  if (filter.prefix !== undefined && !v.key.startsWith(filter.prefix)) return false;
  if (filter.tags.some(([k, value]) => v.tags[k] !== value)) return false;
  if (filter.objectSizeGreaterThan !== undefined && !(v.size > filter.objectSizeGreaterThan)) return false;
  if (filter.objectSizeLessThan !== undefined && !(v.size < filter.objectSizeLessThan)) return false;
  return true;
}

/**
 * When `days` after `from` falls due: S3 adds the days and rounds up to the next midnight UTC,
 * i.e. the next boundary of a day. `dayMs` is a day's length (RFS_LIFECYCLE_DAY_SECONDS, shorter
 * in tests), and boundaries are multiples of it since the epoch.
 */
export function dueAt(from: Date, days: number, dayMs: number): number {
  return (Math.floor(from.getTime() / dayMs) + days + 1) * dayMs;
}

/** When a current version expires, and by which rule: the earliest of the enabled
 * Expiration rules (Days or Date) whose filter takes it; undefined if none does. */
export function currentExpiry(rules: LifecycleRule[] | undefined, v: Filtered & { lastModified: Date }, dayMs: number): { at: number; ruleId: string } | undefined {
  let best: { at: number; ruleId: string } | undefined;
  for (const rule of rules ?? []) {
    const e = rule.expiration;
    if (!rule.enabled || !e || (e.days === undefined && e.date === undefined) || !filterTakes(rule.filter, v)) continue;
    const at = e.days !== undefined ? dueAt(v.lastModified, e.days, dayMs) : Date.parse(e.date!);
    if (!best || at < best.at) best = { at, ruleId: rule.id };
  }
  return best;
}

/** x-amz-expiration: `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`. */
export function expirationHeader(rules: LifecycleRule[] | undefined, v: Filtered & { lastModified: Date }, dayMs: number): Record<string, string> {
  const expiry = currentExpiry(rules, v, dayMs);
  if (!expiry) return {};
  const ruleId = encodeURIComponent(expiry.ruleId);
  return { 'x-amz-expiration': `expiry-date="${new Date(expiry.at).toUTCString()}", rule-id="${ruleId}"` };
}

/** Whether a delete marker with no older versions is removed now: a rule with
 * ExpiredObjectDeleteMarker takes it at once, an Expiration Days rule once the marker is that
 * old (S3 cleans such markers up with Days). Tags and sizes do not apply to markers. */
export function markerExpired(rules: LifecycleRule[], marker: Pick<LifecycleVersion, 'key' | 'lastModified'>, now: number, dayMs: number): boolean {
  return rules.some((rule) => {
    const e = rule.expiration;
    if (!rule.enabled || !e || (rule.filter.prefix !== undefined && !marker.key.startsWith(rule.filter.prefix))) return false;
    return e.expiredObjectDeleteMarker === true || (e.days !== undefined && dueAt(marker.lastModified, e.days, dayMs) <= now);
  });
}

/** Whether an unfinished multipart upload is aborted now: an AbortIncompleteMultipartUpload
 * rule whose prefix takes its key, DaysAfterInitiation after it started. */
export function uploadAbandoned(rules: LifecycleRule[], upload: { key: string; initiated: Date }, now: number, dayMs: number): boolean {
  return rules.some((rule) => {
    const days = rule.abortIncompleteMultipartUploadDays;
    return rule.enabled && days !== undefined && upload.key.startsWith(rule.filter.prefix ?? '') && dueAt(upload.initiated, days, dayMs) <= now;
  });
}

/**
 * Whether a noncurrent version is removed now: a NoncurrentVersionExpiration rule takes it
 * once it has been noncurrent `noncurrentDays` and more than `newerNoncurrentVersions`
 * noncurrent versions of its key are newer. `since`: when it became noncurrent; `newer`: how
 * many noncurrent versions of its key are newer.
 */
export function noncurrentExpired(rules: LifecycleRule[], v: LifecycleVersion, since: Date, newer: number, now: number, dayMs: number): boolean {
  return rules.some((rule) => {
    const n = rule.noncurrentVersionExpiration;
    if (!rule.enabled || !n || !filterTakes(rule.filter, v)) return false;
    return newer >= (n.newerNoncurrentVersions ?? 0) && dueAt(since, n.noncurrentDays, dayMs) <= now;
  });
}
