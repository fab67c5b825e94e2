import { GiB, KiB, MiB } from './data';

/** Number formatting and plain-text tables for the bench's report. MB = 10^6 bytes. */

export const mb = (bytes: number) => bytes / 1e6;
export const fmtSize = (bytes: number) =>
  bytes >= GiB && bytes % GiB === 0 ? `${bytes / GiB} GiB` : bytes >= MiB ? `${(bytes / MiB).toFixed(bytes % MiB ? 1 : 0)} MiB` : `${bytes / KiB} KiB`;
export const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
export const fmtRate = (mbps: number) => `${mbps.toFixed(1)} MB/s`;
export const fmtPct = (x: number) => `${(x * 100).toFixed(0)} %`;
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtMs = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)) + ' ms';
/** Microseconds, from seconds. */
export const fmtUs = (seconds: number) => `${Math.round(seconds * 1e6).toLocaleString('en-US')} µs`;
export const fmtRatio = (x: number) => `${x.toFixed(2)}×`;

/** A plain-text table; columns whose alignment is 'r' are right-aligned. */
export function table(head: string[], rows: string[][], align: string): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(head), '  ' + widths.map((w) => '-'.repeat(w)).join('   '), ...rows.map(line)].join('\n');
}

export function heading(title: string): void {
  process.stdout.write(`\n== ${title} ==\n`);
}

export function say(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

const benchStart = process.hrtime.bigint();

/** Seconds since the bench started. */
export function elapsed(): number {
  return Number(process.hrtime.bigint() - benchStart) / 1e9;
}

/** A progress line, with the time since the bench started. */
export function progress(line: string): void {
  process.stdout.write(`  [${elapsed().toFixed(1).padStart(6)} s] ${line}\n`);
}
