/**
 * The listing walk shared by ListObjects, ListObjectVersions and ListMultipartUploads: rows
 * in key order under a prefix, rolled up into common prefixes at a delimiter. Each common
 * prefix is reported once and then skipped by seeking to the first key after it, so a
 * prefix holding a million keys costs one extra query, not a million rows.
 */

/** Where a fetch starts: keys ≥ `from`; `within` narrows the rows of key `from` itself
 * (versions after a version-id-marker, uploads after an upload-id-marker). */
export interface Cursor<W = never> {
  from: Buffer;
  within?: W;
}

export interface Walk<R, W = never> {
  prefix: Buffer;
  delimiter?: Buffer;
  /** Entries (rows and common prefixes) to return. */
  max: number;
  /** Rows from the cursor on, in order, under the prefix (the walk passes its successor as
   * the exclusive upper bound), at most `limit`. */
  fetch(cursor: Cursor<W>, upper: Buffer | undefined, limit: number): Promise<R[]>;
  keyOf(row: R): Buffer;
  /** The cursor right after a row. */
  after(row: R): Cursor<W>;
}

export type Entry<R> = { row: R } | { prefix: string };

export interface WalkResult<R> {
  entries: Entry<R>[];
  truncated: boolean;
}

const ZERO = Buffer.alloc(1);

export async function walk<R, W>(w: Walk<R, W>, start: Cursor<W>): Promise<WalkResult<R>> {
  const entries: Entry<R>[] = [];
  if (w.max <= 0) return { entries, truncated: false };
  const upper = successor(w.prefix);
  let cursor = Buffer.compare(start.from, w.prefix) < 0 ? { from: w.prefix } : start;
  // With a delimiter, start small and grow while batches hold distinct entries; shrink when
  // a batch ends inside a common prefix, since the rest of it would be skipped anyway.
  let batch = w.delimiter ? Math.min(w.max + 1, 64) : w.max + 1;
  for (;;) {
    const rows = await w.fetch(cursor, upper, batch);
    let seekPast: Buffer | undefined;
    for (const row of rows) {
      const key = w.keyOf(row);
      if (seekPast && Buffer.compare(key, seekPast) < 0) continue; // inside the prefix just reported
      seekPast = undefined;
      if (entries.length === w.max) return { entries, truncated: true };
      const cut = w.delimiter ? key.indexOf(w.delimiter, w.prefix.length) : -1;
      if (cut < 0) {
        entries.push({ row });
        continue;
      }
      const common = key.subarray(0, cut + w.delimiter!.length);
      entries.push({ prefix: common.toString('utf8') });
      seekPast = successor(common);
      if (!seekPast) return { entries, truncated: false }; // nothing sorts after a prefix of 0xFF bytes
    }
    if (rows.length < batch) return { entries, truncated: false }; // the range is exhausted
    if (seekPast) {
      cursor = { from: seekPast };
      batch = Math.max(16, batch >> 2);
    } else {
      cursor = w.after(rows[rows.length - 1]);
      batch = Math.min(w.max + 1, batch * 2);
    }
  }
}

/** The cursor just past a marker: past all of its keys when it is a common prefix we
 * returned (a NextMarker or token), else past the key itself. */
export function cursorAfter(marker: string, prefix: Buffer, delimiter: Buffer | undefined): Cursor<never> {
  const after = Buffer.from(marker, 'utf8');
  const isPrefix = delimiter && after.length > 0 && after.indexOf(delimiter, prefix.length) === after.length - delimiter.length;
  return { from: (isPrefix && successor(after)) || Buffer.concat([after, ZERO]) };
}

/** The smallest byte string greater than every string that starts with `prefix`, or
 * undefined when there is none (empty prefix, or all 0xFF). */
export function successor(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const next = Buffer.from(prefix.subarray(0, i + 1));
      next[i]++;
      return next;
    }
  }
  return undefined;
}

export function nextKey(key: Buffer): Buffer {
  return Buffer.concat([key, ZERO]);
}
