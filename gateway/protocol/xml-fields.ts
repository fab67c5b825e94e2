import { S3Error } from './errors';

/**
 * Reading the elements of a parsed S3 configuration document (parseXml's plain objects):
 * whatever shape a client sends that the schema does not allow is MalformedXML.
 */

/** The elements of a repeated XML element: absent → [], one → [it]. */
export function xmlList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Repeated text elements; an element with children is not text. */
export function xmlStrings(value: unknown): string[] {
  return xmlList(value).map((v) => {
    if (typeof v !== 'string') throw new S3Error('MalformedXML');
    return v;
  });
}

/** A text element that may appear at most once. */
export function xmlText(value: unknown): string | undefined {
  const all = xmlStrings(value);
  if (all.length > 1) throw new S3Error('MalformedXML');
  return all[0];
}

/** An element with children, at most once; `allowed` names the children it may have. */
export function xmlElement(value: unknown, allowed: readonly string[]): Record<string, unknown> | undefined {
  const all = xmlList(value);
  if (all.length > 1) throw new S3Error('MalformedXML');
  if (all.length === 0) return undefined;
  const el = all[0] === '' ? {} : all[0];
  if (typeof el !== 'object' || el === null || Object.keys(el).some((k) => !allowed.includes(k))) throw new S3Error('MalformedXML');
  return el as Record<string, unknown>;
}
