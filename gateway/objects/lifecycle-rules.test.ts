import type { LifecycleRule } from '../../metadata/store';
import { currentExpiry, dueAt, expirationHeader, filterTakes, markerExpired, noncurrentExpired, uploadAbandoned } from './lifecycle-rules';
import { scanPrefixes } from './lifecycle';

const DAY = 86_400_000;
const rule = (id: string, extra: Partial<LifecycleRule>): LifecycleRule => ({ id, enabled: true, filter: { form: 'filter', tags: [] }, ...extra });

test('dueAt: S3 adds the days, then rounds up to the next midnight UTC (its documented example)', () => {
  // Created 2014-01-15 10:30 UTC, 3 days: due 2014-01-19 00:00 UTC.
  expect(new Date(dueAt(new Date('2014-01-15T10:30:00Z'), 3, DAY)).toISOString()).toBe('2014-01-19T00:00:00.000Z');
  expect(new Date(dueAt(new Date('2014-01-15T00:00:00Z'), 1, DAY)).toISOString()).toBe('2014-01-17T00:00:00.000Z');
  expect(dueAt(new Date(1_250), 2, 500)).toBe(2_500); // a test's short day: boundaries are multiples of it
});

test('filterTakes: prefix, every tag, and exclusive size bounds must all hold', () => {
  const filter = { form: 'and' as const, prefix: 'logs/', tags: [['a', '1'], ['b', '2']] as [string, string][], objectSizeGreaterThan: 10, objectSizeLessThan: 100 };
  const v = { key: 'logs/x', size: 50, tags: { a: '1', b: '2', c: '3' } };
  expect(filterTakes(filter, v)).toBe(true);
  expect(filterTakes(filter, { ...v, key: 'log/x' })).toBe(false);
  expect(filterTakes(filter, { ...v, tags: { a: '1', b: 'x' } })).toBe(false);
  expect(filterTakes(filter, { ...v, size: 10 })).toBe(false);
  expect(filterTakes(filter, { ...v, size: 100 })).toBe(false);
  expect(filterTakes({ form: 'filter', tags: [] }, v)).toBe(true);
});

test('currentExpiry and x-amz-expiration: the earliest enabled rule that takes the object; its id URL-encoded', () => {
  const rules = [
    rule('late', { expiration: { days: 30 } }),
    rule('early one', { expiration: { days: 2 } }),
    rule('off', { enabled: false, expiration: { days: 1 } }),
    rule('markers', { expiration: { expiredObjectDeleteMarker: true } }),
    rule('history', { noncurrentVersionExpiration: { noncurrentDays: 1 } }),
  ];
  const v = { key: 'k', size: 1, tags: {}, lastModified: new Date('2026-03-01T12:00:00Z') };
  expect(currentExpiry(rules, v, DAY)).toEqual({ at: Date.parse('2026-03-04T00:00:00Z'), ruleId: 'early one' });
  expect(expirationHeader(rules, v, DAY)).toEqual({ 'x-amz-expiration': 'expiry-date="Wed, 04 Mar 2026 00:00:00 GMT", rule-id="early%20one"' });
  expect(expirationHeader([rule('d', { expiration: { date: '2027-01-01T00:00:00Z' } })], v, DAY)).toEqual({
    'x-amz-expiration': 'expiry-date="Fri, 01 Jan 2027 00:00:00 GMT", rule-id="d"',
  });
  expect(expirationHeader(rules.slice(2), v, DAY)).toEqual({});
  expect(expirationHeader(undefined, v, DAY)).toEqual({});
});

test('markerExpired: ExpiredObjectDeleteMarker at once; an Expiration Days rule once the marker is that old', () => {
  const marker = { key: 'p/k', lastModified: new Date('2026-03-01T12:00:00Z') };
  const now = Date.parse('2026-03-02T01:00:00Z');
  expect(markerExpired([rule('m', { expiration: { expiredObjectDeleteMarker: true } })], marker, now, DAY)).toBe(true);
  expect(markerExpired([rule('m', { expiration: { expiredObjectDeleteMarker: false } })], marker, now, DAY)).toBe(false);
  expect(markerExpired([rule('d', { expiration: { days: 1 } })], marker, now, DAY)).toBe(false);
  expect(markerExpired([rule('d', { expiration: { days: 1 } })], marker, Date.parse('2026-03-03T00:00:00Z'), DAY)).toBe(true);
  expect(markerExpired([rule('m', { filter: { form: 'filter', prefix: 'q/', tags: [] }, expiration: { expiredObjectDeleteMarker: true } })], marker, now, DAY)).toBe(false);
});

test('noncurrentExpired: NoncurrentDays count from when it became noncurrent; NewerNoncurrentVersions are kept', () => {
  const rules = [rule('h', { noncurrentVersionExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 2 } })];
  const v = { key: 'k', id: 'i', versionId: 'i', deleteMarker: false, size: 1, tags: {}, lastModified: new Date('2026-01-01T00:00:00Z') };
  const since = new Date('2026-03-01T12:00:00Z');
  const later = Date.parse('2026-03-03T00:00:00Z');
  expect(noncurrentExpired(rules, v, since, 2, later, DAY)).toBe(true);
  expect(noncurrentExpired(rules, v, since, 1, later, DAY)).toBe(false); // one of the 2 newest noncurrent
  expect(noncurrentExpired(rules, v, since, 5, Date.parse('2026-03-02T23:59:59Z'), DAY)).toBe(false);
});

test('uploadAbandoned: DaysAfterInitiation from the start of the upload, under the rule\'s prefix, enabled rules only', () => {
  const rules = [rule('mpu', { filter: { form: 'filter', prefix: 'tmp/', tags: [] }, abortIncompleteMultipartUploadDays: 2 }), rule('off', { enabled: false, abortIncompleteMultipartUploadDays: 1 })];
  const upload = { key: 'tmp/x', initiated: new Date('2026-03-01T12:00:00Z') };
  expect(uploadAbandoned(rules, upload, Date.parse('2026-03-03T23:59:59Z'), DAY)).toBe(false);
  expect(uploadAbandoned(rules, upload, Date.parse('2026-03-04T00:00:00Z'), DAY)).toBe(true);
  expect(uploadAbandoned(rules, { ...upload, key: 'keep/x' }, Date.parse('2026-03-10T00:00:00Z'), DAY)).toBe(false);
});

test('scanPrefixes: a range per prefix no shorter one covers; everything when a rule has none', () => {
  const p = (prefix?: string) => rule('r', { filter: { form: 'filter', prefix, tags: [] } });
  expect(scanPrefixes([])).toEqual([]);
  expect(scanPrefixes([p('logs/a'), p('logs/'), p('tmp/'), p('logs/')])).toEqual(['logs/', 'tmp/']);
  expect(scanPrefixes([p('logs/'), p()])).toEqual(['']);
});
