import { UsageError } from './errors';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 1536 → "1.5 KiB": powers of 1024, three significant digits. */
export function humanBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${Number(v.toPrecision(3))} ${UNITS[u]}`;
}

const SIZE_FACTORS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
  p: 1024 ** 5, pib: 1024 ** 5, pb: 1000 ** 5,
};

/**
 * "10GiB", "1.5 TiB", "500MB", "2G", "1048576" → bytes. KiB, MiB, GiB, TiB, PiB are powers of
 * 1024 and KB, MB, GB, TB, PB powers of 1000 (as the IEC and SI say); a bare K, M, G, T or P
 * is 1024's, as `ls -h` and `du -h` print them.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = m ? SIZE_FACTORS[m[2].toLowerCase()] : undefined;
  if (!m || factor === undefined) throw new UsageError(`invalid size "${text}": write a number and a unit, like 500MiB, 10GiB or 2TB`);
  const bytes = Math.round(Number(m[1]) * factor);
  if (bytes <= 0 || !Number.isSafeInteger(bytes)) throw new UsageError(`invalid size "${text}": it must be above 0 and below 8 PiB`);
  return bytes;
}

/** An ISO time as "2024-05-01 12:34:56" (UTC), short enough for a table. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

/** Rows under upper-case headers, each column as wide as its widest cell, two spaces apart. */
export function table(headers: string[], rows: (string | number | boolean | null | undefined)[][]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

/** `key: value` lines, the keys aligned. */
export function fields(entries: [string, string | number | boolean | null | undefined][]): string {
  const width = Math.max(...entries.map(([k]) => k.length)) + 1;
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v === null || v === undefined || v === '' ? '-' : v}`).join('\n') + '\n';
}
