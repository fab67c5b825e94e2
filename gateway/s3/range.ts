import { S3Error } from '../protocol/errors';

/**
 * A Range header against an object of `size` bytes → inclusive [start, end], or undefined to
 * send the whole object. As S3 does: a header it cannot parse (or several ranges) is
 * ignored; a well-formed range that starts past the end is 416 InvalidRange.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): S3Error {
  return new S3Error('InvalidRange', undefined, { RangeRequested: '', ActualObjectSize: String(size) }, { 'content-range': `bytes */${size}` });
}
